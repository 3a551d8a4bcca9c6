"""nbgrader of every user's pod (/etc/jupyter/nbgrader_config.py in the class's image).

The exchange is ngshare, a hub service (classroom/k8s/values.yaml): no shared filesystem.
NGSHARE_URL comes from singleuser.extraEnv.
"""

import os

from ngshare_exchange import configureExchange

c = get_config()  # noqa: F821
configureExchange(c, os.environ.get(
    "NGSHARE_URL", "http://proxy-public.swin-class.svc.cluster.local/services/ngshare"))
c.CourseDirectory.course_id = "swin-edu"
# The instructor's pod: the course directory in their home (persistent volume).
if os.environ.get("SWIN_EDU_ROLE") == "instructor":
    c.CourseDirectory.root = os.path.expanduser("~/course")
