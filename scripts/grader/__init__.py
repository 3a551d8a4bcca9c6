"""The teacher's side of the swin-edu assignments: collect, hidden-test verdicts, audit, summary."""
