/* Kernel-free explorers of the swin-edu website.
 *
 * Display only: every mask, label, reach, index, FLOP count and message comes from
 * window.SWIN_EDU_EXPLORERS, computed at build time by swin_edu.web with the package's own
 * functions. This file looks states up by the controls' values and draws them as SVG.
 * A container <div class="swin-edu-kf" data-explorer="mask|relpos|complexity|merging|shapes"
 * data-init='{"H": 8, ...}'> becomes an explorer.
 */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const DATA = () => window.SWIN_EDU_EXPLORERS;

  function el(tag, attrs, parent, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function html(tag, cls, parent, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  /* A rows x cols grid of cells at (x, y), cell size s; fill(r, c), label(r, c). */
  function grid(svg, x, y, rows, cols, s, fill, label, fontSize) {
    const g = el("g", { transform: `translate(${x},${y})` }, svg);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        el("rect", { x: c * s, y: r * s, width: s, height: s, fill: fill(r, c),
                     stroke: "#ffffff", "stroke-width": 0.5 }, g);
        const text = label ? label(r, c) : null;
        if (text !== null && text !== undefined && s >= 12) {
          const lines = String(text).split("\n");
          lines.forEach((line, i) => {
            el("text", { x: c * s + s / 2, y: r * s + s / 2 + (i - (lines.length - 1) / 2) * (fontSize + 1),
                         "font-size": fontSize, "text-anchor": "middle",
                         "dominant-baseline": "central", fill: darkFill(fill(r, c)) ? "#fff" : "#222" },
               g, line);
          });
        }
      }
    }
    return g;
  }

  function darkFill(colour) {
    const v = parseInt(colour.slice(1), 16);
    return ((v >> 16) & 255) * 0.299 + ((v >> 8) & 255) * 0.587 + (v & 255) * 0.114 < 110;
  }

  /* Lines between neighbouring cells whose group differs (window borders), plus the frame. */
  function borders(g, rows, cols, s, group, attrs) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        if (c + 1 < cols && group(r, c) !== group(r, c + 1))
          el("line", Object.assign({ x1: (c + 1) * s, y1: r * s, x2: (c + 1) * s, y2: (r + 1) * s }, attrs), g);
        if (r + 1 < rows && group(r, c) !== group(r + 1, c))
          el("line", Object.assign({ x1: c * s, y1: (r + 1) * s, x2: (c + 1) * s, y2: (r + 1) * s }, attrs), g);
      }
    }
    el("rect", { x: 0, y: 0, width: cols * s, height: rows * s, fill: "none", stroke: "#111", "stroke-width": 2 }, g);
  }

  function box(g, x, y, w, h, colour, width) {
    el("rect", { x, y, width: w, height: h, fill: "none", stroke: colour, "stroke-width": width }, g);
  }

  function title(svg, x, y, text) {
    el("text", { x, y, "font-size": 12, "font-weight": "bold" }, svg, text);
  }

  /* Controls: name -> {label, values (array) or min/max}; returns an object with get/set. */
  function makeControls(root, slug, spec, init, onChange) {
    const bar = html("div", "swin-edu-kf-controls", root);
    const inputs = {};
    for (const [name, opt] of Object.entries(spec)) {
      const label = html("label", `swin-edu-kf-control swin-edu-kf-${slug}-${name.replace(/_/g, "-").toLowerCase()}`, bar);
      html("span", "swin-edu-kf-name", label, opt.label + " ");
      const input = html("input", null, label);
      input.type = "range";
      input.step = 1;
      input.setAttribute("aria-label", opt.label);
      const out = html("output", null, label);
      input.min = 0;
      input.max = opt.values ? opt.values.length - 1 : opt.max;
      if (!opt.values) input.min = opt.min;
      const start = init[name] !== undefined ? init[name] : opt.initial;
      input.value = opt.values ? Math.max(0, opt.values.indexOf(start)) : start;
      const show = () => { out.textContent = String(value(name)); };
      input.addEventListener("input", () => { show(); onChange(name); });
      inputs[name] = { input, opt, show };
    }
    function value(name) {
      const { input, opt } = inputs[name];
      return opt.values ? opt.values[Number(input.value)] : Number(input.value);
    }
    function setMax(name, max) {
      const { input, show } = inputs[name];
      input.max = max;
      if (Number(input.value) > max) input.value = max;
      show();
    }
    Object.values(inputs).forEach((i) => i.show());
    return { value, setMax, inputs };
  }

  function frame(root, slug) {
    const readout = html("div", `swin-edu-kf-readout swin-edu-kf-${slug}-readout`, root);
    const message = html("div", `swin-edu-kf-message swin-edu-kf-${slug}-message`, root);
    const figure = html("div", `swin-edu-kf-figure swin-edu-kf-${slug}-image`, root);
    return { readout, message, figure,
             invalid(text) {  // keep the last valid picture, marked stale, as the widget does
               message.textContent = text;
               figure.classList.add("swin-edu-kf-stale");
             },
             valid(readoutText) {
               message.textContent = "";
               figure.classList.remove("swin-edu-kf-stale");
               readout.textContent = readoutText;
               figure.textContent = "";
               return el("svg", { role: "img" }, figure);
             } };
  }

  const fmt = (n) => n.toLocaleString("en-US");

  /* ---- mask explorer (notebook 05) ---- */
  function maskExplorer(root, init) {
    const data = DATA().mask, pal = DATA().palette;
    const ui = frame(root, "mask");
    const controls = makeControls(root, "mask", {
      H: { label: "H", values: data.sides, initial: 8 },
      W: { label: "W", values: data.sides, initial: 8 },
      window_size: { label: "window size M", values: data.windows, initial: 4 },
      shift_size: { label: "shift S", values: data.shifts, initial: 2 },
      window: { label: "window", min: 0, max: 63, initial: 0 },
      query: { label: "query token", min: 0, max: 63, initial: 0 },
    }, init, draw);
    root.insertBefore(root.lastChild, ui.readout);  // controls above the readout
    function draw() {
      const H = controls.value("H"), W = controls.value("W");
      const M = controls.value("window_size"), S = controls.value("shift_size");
      const state = data.states[`${H},${W},${M},${S}`];
      if (typeof state === "number") return ui.invalid(data.messages[state]);
      const nW = state.ids.length, N = M * M;
      controls.setMax("window", nW - 1);
      controls.setMax("query", N - 1);
      const win = controls.value("window"), q = controls.value("query");
      const token = state.ids[win][q], pos = [Math.floor(token / W), token % W];
      const reach = state.reach[token];
      const keys = reach.split("").filter((b) => b === "1").length;
      const svg = ui.valid(`nW=${nW}, window ${win}: tokens ${N}, masked pairs=${state.masked_pairs[win]} ` +
        `of ${N * N}; query token ${q} = original (${pos[0]}, ${pos[1]}), may attend to ${keys} keys`);
      const side = 230, s1 = Math.min(36, side / Math.max(H, W)), s2 = Math.min(36, side / N);
      const x2 = 30 + W * s1 + 70, x3 = x2 + N * s2 + 40;
      svg.setAttribute("viewBox", `0 0 ${x3 + W * s1 + 10} ${60 + Math.max(H * s1, N * s2) + 10}`);
      // 1. region labels on the rolled map, windows outlined, the chosen window in red
      title(svg, 30, 20, `region labels on the rolled map (S=${S})`);
      const g1 = grid(svg, 30, 40, H, W, s1, (r, c) => pal.regions[state.labels[r * W + c]],
                      (r, c) => state.labels[r * W + c], 11);
      borders(g1, H, W, s1, (r, c) => state.rolled_window[r * W + c], { stroke: "#111", "stroke-width": 2.2 });
      const cells = state.rolled_window.map((w, i) => [w, i]).filter(([w]) => w === win).map(([, i]) => i);
      const rs = cells.map((i) => Math.floor(i / W)), cs = cells.map((i) => i % W);
      box(g1, Math.min(...cs) * s1, Math.min(...rs) * s1, (Math.max(...cs) - Math.min(...cs) + 1) * s1,
          (Math.max(...rs) - Math.min(...rs) + 1) * s1, "#e63946", 3);
      // 2. the window's mask, the query's row in red
      title(svg, x2, 20, `mask of window ${win}`);
      const bits = state.mask[win];
      const g2 = grid(svg, x2, 40, N, N, s2, (r, c) => pal.mask[bits[r * N + c] === "1" ? 0 : 1],
                      N <= 9 ? (r, c) => (bits[r * N + c] === "1" ? String(data.masked_value) : "0") : null, 9);
      for (let t = 0; t < N && N <= 16; t++) {
        const name = `${t}:r${state.slot_labels[win][t]}`;
        el("text", { x: -3, y: t * s2 + s2 / 2, "font-size": 8, "text-anchor": "end", "dominant-baseline": "central" }, g2, name);
      }
      box(g2, 0, q * s2, N * s2, s2, "#e63946", 2);
      // 3. the query's reach on the original map, shifted windows dashed
      title(svg, x3, 20, `reach of token (${pos[0]}, ${pos[1]}) (original map)`);
      const g3 = grid(svg, x3, 40, H, W, s1, (r, c) => {
        if (r === pos[0] && c === pos[1]) return pal.reach[2];
        return pal.reach[reach[r * W + c] === "1" ? 1 : 0];
      }, null, 9);
      borders(g3, H, W, s1, (r, c) => state.window_of[r * W + c],
              S > 0 ? { stroke: pal.shifted_edge, "stroke-width": 2, "stroke-dasharray": "4 3" }
                    : { stroke: "#111", "stroke-width": 2 });
    }
    draw();
  }

  /* ---- relative position explorer (notebook 04) ---- */
  function relposExplorer(root, init) {
    const data = DATA().relpos, pal = DATA().palette;
    const ui = frame(root, "relpos");
    const controls = makeControls(root, "relpos", {
      window_size: { label: "window size M", values: data.windows, initial: 2 },
      query: { label: "query token", min: 0, max: 63, initial: 0 },
    }, init, draw);
    root.insertBefore(root.lastChild, ui.readout);
    function draw() {
      const M = controls.value("window_size");
      controls.setMax("query", M * M - 1);
      const q = controls.value("query"), st = data.states[String(M)][q];
      const side = 2 * M - 1, qr = Math.floor(q / M), qc = q % M;
      const rows = [...new Set(st.index)].sort((a, b) => a - b);
      const svg = ui.valid(M <= 3
        ? `M=${M}: table of (2M-1)^2 = ${side * side} rows; query ${q} at (${qr}, ${qc}) reads rows [${rows.join(", ")}]`
        : `M=${M}: table of (2M-1)^2 = ${side * side} rows; query ${q} at (${qr}, ${qc}) reads ${rows.length} distinct rows`);
      const s1 = Math.min(40, 300 / side), s2 = Math.min(48, 220 / M), x2 = 40 + side * s1 + 60;
      svg.setAttribute("viewBox", `0 0 ${x2 + M * s2 + 10} ${60 + Math.max(side * s1, M * s2) + 30}`);
      const keyOf = {};
      st.index.forEach((row, k) => { keyOf[row] = k; });
      title(svg, 40, 20, `table rows read by query ${q} (k = key token)`);
      const g1 = grid(svg, 40, 40, side, side, s1,
        (r, c) => (keyOf[r * side + c] !== undefined ? pal.read : "#f1f3f5"),
        side <= 9 ? (r, c) => (keyOf[r * side + c] !== undefined ? `${r * side + c}\nk${keyOf[r * side + c]}` : `${r * side + c}`) : null, 9);
      for (let d = 0; d < side; d++) {
        el("text", { x: -4, y: d * s1 + s1 / 2, "font-size": 9, "text-anchor": "end", "dominant-baseline": "central" }, g1, String(d - M + 1));
        el("text", { x: d * s1 + s1 / 2, y: side * s1 + 12, "font-size": 9, "text-anchor": "middle" }, g1, String(d - M + 1));
      }
      el("text", { x: side * s1 / 2, y: side * s1 + 26, "font-size": 10, "text-anchor": "middle" }, g1, "dx = x_q - x_k (rows: dy = y_q - y_k)");
      st.index.forEach((row) => box(g1, (row % side) * s1, Math.floor(row / side) * s1, s1, s1, "#000", 1.5));
      title(svg, x2, 20, "table row per key");
      const g2 = grid(svg, x2, 40, M, M, s2, () => "#dee2e6",
        M <= 5 ? (r, c) => `k${r * M + c}\nrow ${st.index[r * M + c]}` : null, 10);
      box(g2, qc * s2, qr * s2, s2, s2, "#e63946", 3);
    }
    draw();
  }

  /* ---- complexity explorer (notebook 06) ---- */
  function complexityExplorer(root, init) {
    const data = DATA().complexity;
    const ui = frame(root, "complexity");
    const controls = makeControls(root, "complexity", {
      h: { label: "h", values: data.sides, initial: 56 },
      w: { label: "w", values: data.sides, initial: 56 },
      C: { label: "C", values: data.channels, initial: 96 },
      M: { label: "M", values: data.windows, initial: 7 },
    }, init, draw);
    root.insertBefore(root.lastChild, ui.readout);
    function draw() {
      const h = controls.value("h"), w = controls.value("w"), C = controls.value("C"), M = controls.value("M");
      const st = data.states[`${h},${w},${C},${M}`];
      if (typeof st === "number") return ui.invalid(data.messages[st]);
      const [msa, wmsa, proj] = st, ratio = msa / wmsa;
      const note = h % M === 0 && w % M === 0 ? "" : ` (M does not divide ${h}x${w}: the model pads, the formula is the unpadded cost)`;
      const svg = ui.valid(`MSA = 4hwC² + 2(hw)²C = ${fmt(msa)}; W-MSA = 4hwC² + 2M²hwC = ${fmt(wmsa)}; ratio = ${ratio.toFixed(2)}${note}`);
      svg.setAttribute("viewBox", "0 0 820 300");
      // left: both formulas for square maps h = w of the table (this C and M), log-log
      title(svg, 50, 20, `C=${C}, M=${M}: cost vs tokens (square maps h = w)`);
      const pts = data.sides.map((s) => [s * s, data.states[`${s},${s},${C},${M}`]])
        .filter(([, v]) => typeof v !== "number");
      const xs = pts.map(([t]) => t).concat([h * w]), ys = pts.flatMap(([, v]) => [v[0], v[1]]).concat([msa, wmsa]);
      const lx = (t) => 60 + 300 * (Math.log(t) - Math.log(Math.min(...xs))) / ((Math.log(Math.max(...xs)) - Math.log(Math.min(...xs))) || 1);
      const ly = (v) => 250 - 210 * (Math.log(v) - Math.log(Math.min(...ys))) / ((Math.log(Math.max(...ys)) - Math.log(Math.min(...ys))) || 1);
      el("rect", { x: 60, y: 40, width: 300, height: 210, fill: "none", stroke: "#888" }, svg);
      [[0, "#dd8452", "MSA"], [1, "#55a868", `W-MSA (M=${M})`]].forEach(([i, colour, name], k) => {
        el("path", { d: pts.map(([t, v], j) => `${j ? "L" : "M"}${lx(t)},${ly(v[i])}`).join(" "), fill: "none", stroke: colour, "stroke-width": 2 }, svg);
        el("text", { x: 70, y: 58 + 14 * k, "font-size": 11, fill: colour }, svg, name);
      });
      [msa, wmsa].forEach((v) => el("circle", { cx: lx(h * w), cy: ly(v), r: 4, fill: "#000" }, svg));
      el("text", { x: 210, y: 275, "font-size": 11, "text-anchor": "middle" }, svg, "tokens hw (log)");
      el("text", { x: 20, y: 150, "font-size": 11, transform: "rotate(-90 20 150)", "text-anchor": "middle" }, svg, "FLOPs (log)");
      // right: the two terms of each formula, stacked, linear scale
      title(svg, 440, 20, `h=${h}, w=${w}: MSA / W-MSA = ${ratio.toFixed(2)}`);
      const bx = (v) => 500 * 0 + 300 * v / msa;
      [["MSA", msa - proj, "#dd8452", "2(hw)²C"], ["W-MSA", wmsa - proj, "#55a868", "2M²hwC"]].forEach(([name, att, colour, term], k) => {
        const y = 70 + 90 * k;
        el("text", { x: 490, y: y + 20, "font-size": 11, "text-anchor": "end" }, svg, name);
        el("rect", { x: 500, y, width: bx(proj), height: 40, fill: "#4c72b0" }, svg);
        el("rect", { x: 500 + bx(proj), y, width: bx(att), height: 40, fill: colour }, svg);
        el("text", { x: 500, y: y + 55, "font-size": 10 }, svg, `4hwC² = ${fmt(proj)} + ${term} = ${fmt(att)}`);
      });
      el("text", { x: 650, y: 275, "font-size": 11, "text-anchor": "middle" }, svg, "FLOPs (linear scale)");
    }
    draw();
  }

  /* ---- patch merging explorer (notebook 02) ---- */
  function mergingExplorer(root, init) {
    const data = DATA().merging, pal = DATA().palette;
    const ui = frame(root, "merging");
    const controls = makeControls(root, "merging", {
      H: { label: "H", values: data.sides, initial: 8 },
      W: { label: "W", values: data.sides, initial: 8 },
      token: { label: "merged token", min: 0, max: 63, initial: 0 },
    }, init, draw);
    root.insertBefore(root.lastChild, ui.readout);
    function draw() {
      const H = controls.value("H"), W = controls.value("W");
      const st = data.states[`${H},${W}`];
      if (typeof st === "number") return ui.invalid(data.messages[st]);
      controls.setMax("token", st.merged.length - 1);
      const t = controls.value("token"), values = st.merged[t];
      const r = Math.floor(t / (W / 2)), c = t % (W / 2);
      const inputs = values.map((v) => [Math.floor(v / W), v % W]);
      const svg = ui.valid(`${H}x${W}x1 -> ${H / 2}x${W / 2}x4 (then LayerNorm and Linear 4C -> 2C); token ${t} = cat of positions ` +
        `[${inputs.map(([a, b]) => `(${a}, ${b})`).join(", ")}]`);
      const s = Math.min(36, 300 / Math.max(H, W)), x2 = 30 + W * s + 60;
      svg.setAttribute("viewBox", `0 0 ${x2 + 290} ${60 + H * s + 10}`);
      title(svg, 30, 20, `input ${H}x${W}x1, colour = x0 x1 x2 x3`);
      const g1 = grid(svg, 30, 40, H, W, s, (i, j) => pal.merge[st.sources[i * W + j]], (i, j) => i * W + j, 10);
      inputs.forEach(([a, b]) => box(g1, b * s, a * s, s, s, "#e63946", 2.5));
      title(svg, x2, 20, `merged token ${t} at (${r}, ${c}): 4C channels`);
      grid(svg, x2, 40, 1, 4, 48, (i, j) => pal.merge[j], (i, j) => `x${j}\n${values[j]}`, 11);
    }
    draw();
  }

  /* ---- shape tracer (notebook 00) ---- */
  function shapesExplorer(root, init) {
    const data = DATA().shapes;
    const ui = frame(root, "shapes");
    const controls = makeControls(root, "shapes", {
      variant: { label: "variant", values: data.variants, initial: "T" },
      image_size: { label: "image size", values: data.sizes, initial: 224 },
    }, init, draw);
    root.insertBefore(root.lastChild, ui.readout);
    function draw() {
      const variant = controls.value("variant"), size = controls.value("image_size");
      const steps = data.states[`${variant},${size}`];
      const padded = steps.filter((s) => s.padded && (s.padded[0] !== s.shape[1] || s.padded[1] !== s.shape[2]))
        .map((s) => s.name.split(":")[0]);
      let text = steps.map((s) => s.shape.slice(1).join("x")).join(" -> ");
      if (padded.length) text += `; padded to a multiple of the window in: ${padded.join(", ")}`;
      ui.valid(text);
      ui.figure.textContent = "";
      const table = html("table", "swin-edu-kf-table", ui.figure);
      const head = html("tr", null, html("thead", null, table));
      ["step", "shape (channels last)", "padded map", "windows"].forEach((h) => html("th", null, head, h));
      const body = html("tbody", null, table);
      steps.forEach((s) => {
        const row = html("tr", null, body);
        html("td", null, row, s.name);
        html("td", null, row, `(${s.shape.join(", ")})`);
        html("td", null, row, s.padded ? s.padded.join("x") : "");
        html("td", null, row, s.window_grid ? s.window_grid.join("x") : "");
      });
    }
    draw();
  }

  const KINDS = { mask: maskExplorer, relpos: relposExplorer, complexity: complexityExplorer, merging: mergingExplorer, shapes: shapesExplorer };

  function start() {
    document.querySelectorAll("div.swin-edu-kf[data-explorer]").forEach((root) => {
      const kind = root.dataset.explorer;
      if (!KINDS[kind]) throw new Error(`unknown explorer ${kind}`);
      KINDS[kind](root, JSON.parse(root.dataset.init || "{}"));
      root.classList.add("swin-edu-kf-ready");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
