# Drives the Marathon TEST DOUBLE with marathon-python (PyPI `marathon`), the client the
# original Dromedar used: a client nobody here wrote has to agree with the double.
# Prints one JSON object of what it saw; test/marathon-python.test.ts checks it.
import collections
import collections.abc
import json
import sys
import threading
import time

# marathon 0.13.0 still names collections.Iterable (gone in Python 3.10): a shim for this
# venv's process only.
if not hasattr(collections, "Iterable"):
    collections.Iterable = collections.abc.Iterable

from marathon import MarathonClient  # noqa: E402
from marathon.exceptions import MarathonHttpError, NotFoundError  # noqa: E402
from marathon.models import MarathonApp  # noqa: E402
from marathon.models.constraint import MarathonConstraint  # noqa: E402

servers = sys.argv[1].split(",")
user, password = sys.argv[2].split(":", 1)
client = MarathonClient(servers, username=user, password=password, timeout=10)
out = {}


def wait(what, check, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def running(app_id):
    return [t for t in client.list_tasks(app_id) if t.state == "TASK_RUNNING"]


info = client.get_info()
out["info"] = {"version": info.version, "master": info.marathon_config.master, "zk": info.zookeeper_config.zk, "leader": info.leader}
out["leader"] = client.get_leader()

app = MarathonApp(cmd="sleep 600", cpus=0.1, mem=64, instances=2, constraints=[MarathonConstraint("hostname", "UNIQUE")])
created = client.create_app("/py-app", app)
out["created_id"] = created.id
wait("2 running tasks", lambda: len(running("py-app")) == 2)
wait("the start deployment", lambda: not client.list_deployments())
out["hosts"] = sorted(t.host for t in running("/py-app"))
out["get_app_id"] = client.get_app("/py-app").id

# A third instance has no agent left (hostname UNIQUE on two agents): it waits in the queue.
scaled = client.scale_app("py-app", instances=3, force=True)
queue = wait("a queue entry", lambda: [q for q in client.list_queue(embed_last_unused_offers=True) if q.app.id == "/py-app"])
summary = queue[0].processed_offers_summary
out["queue"] = {
    "count": queue[0].count,
    "reasons": {r["reason"]: r["declined"] for r in summary["rejectSummaryLastOffers"] if r["declined"] > 0},
}
try:
    client.kill_task("py-app", running("py-app")[0].id, scale=True)
    out["locked_kill"] = "accepted"
except MarathonHttpError as err:
    out["locked_kill"] = err.status_code
rollback = client.delete_deployment(scaled["deploymentId"])
out["rollback_has_id"] = "deploymentId" in rollback
wait("the rollback", lambda: not client.list_deployments())
out["after_rollback_instances"] = client.get_app("py-app").instances

victim = running("py-app")[0].id
out["kill_scale"] = sorted(client.kill_task("py-app", victim, scale=True).keys())
wait("the kill", lambda: victim not in [t.id for t in client.list_tasks("py-app")] and not client.list_deployments())
again = client.kill_task("py-app", victim, scale=True)
out["kill_gone_scale"] = sorted(again.keys())
try:
    client.kill_task("py-app", victim, scale=False)
    out["kill_gone"] = "accepted"
except NotFoundError:
    out["kill_gone"] = 404
out["instances_after_kills"] = client.get_app("py-app").instances

# A restart rolls (default upgradeStrategy), seen on the event stream.
client.create_app("py-roll", MarathonApp(cmd="sleep 600", cpus=0.1, mem=64, instances=2))
wait("py-roll running", lambda: len(running("py-roll")) == 2 and not client.list_deployments())
before = sorted(t.id for t in running("py-roll"))
events = []
attached = threading.Event()


def listen():
    for event in client.event_stream():
        events.append(event.event_type)
        if event.event_type == "event_stream_attached":
            attached.set()
        if event.event_type == "deployment_success":
            return


listener = threading.Thread(target=listen, daemon=True)
listener.start()
attached.wait(10)
restart = client.restart_app("py-roll")
out["restart_has_id"] = "deploymentId" in restart
wait("the restart", lambda: not client.list_deployments(), timeout=90)
after = sorted(t.id for t in running("py-roll"))
out["restart_replaced_all"] = len(after) == 2 and not set(after) & set(before)
listener.join(10)
out["events"] = sorted(set(events))

killed = client.kill_tasks("py-roll", scale=True)
out["kill_tasks_count"] = len(killed) if isinstance(killed, list) else killed
wait("py-roll scaled to 0", lambda: client.get_app("py-roll").instances == 0 and not client.list_tasks("py-roll") and not client.list_deployments())
client.delete_app("py-roll")
client.delete_app("/py-app", force=True)
wait("no apps", lambda: not client.list_apps())
print(json.dumps(out))
