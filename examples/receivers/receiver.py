# A service that keeps its own rows about Roster's users, told of changes by webhook.
# Run: ROSTER_WEBHOOK_SECRET=whsec_... uvicorn receiver:app --port 8080 --no-access-log
import os

from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

app = FastAPI()
webhook = Webhook(os.environ["ROSTER_WEBHOOK_SECRET"])  # the secret shown once
handled: set[str] = set()  # keep this in your database, beside the rows it changes


@app.post("/roster-events")
async def roster_event(request: Request) -> Response:
    try:
        event = webhook.verify(await request.body(), dict(request.headers))
    except WebhookVerificationError:
        return Response(status_code=400)  # not from Roster: ignore it
    if request.headers["webhook-id"] not in handled:  # at least once: skip repeats
        if event["type"] == "user.deleted":
            pass  # delete your rows that point at event["subject"]
        handled.add(request.headers["webhook-id"])
        print(event["type"], event["subject"], event["subjectsequence"], flush=True)
    return Response(status_code=204)  # any 2xx: delivered
