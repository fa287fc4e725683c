// A service that keeps its own rows about Roster's users, told of changes by webhook.
// Run: ROSTER_WEBHOOK_SECRET=whsec_... PORT=8080 node receiver.mjs
import http from "node:http";
import { Webhook } from "standardwebhooks";

const webhook = new Webhook(process.env.ROSTER_WEBHOOK_SECRET); // the secret shown once
const handled = new Set(); // keep this in your database, beside the rows it changes

http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    let event;
    try {
      event = webhook.verify(Buffer.concat(chunks).toString("utf8"), request.headers);
    } catch {
      return response.writeHead(400).end(); // not from Roster: ignore it
    }
    const id = request.headers["webhook-id"];
    if (!handled.has(id)) { // at least once: skip repeats
      if (event.type === "user.deleted") { /* delete your rows for event.subject */ }
      handled.add(id);
      console.log(event.type, event.subject, event.subjectsequence);
    }
    response.writeHead(204).end(); // any 2xx: delivered
  });
}).listen(Number(process.env.PORT ?? 8080), "127.0.0.1");
