// Webhook receiver for bench/run.sh: answers 200 to every POST at once, as a healthy integrator would, and
// GET /count with how many it has received (the bench waits on it without asking PostgreSQL).
// Node's http server: light enough not to take the CPU the service and PostgreSQL are measured on.
const http = require("http");
const port = Number(process.argv[2]);
let received = 0;
http
  .createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.method === "GET") {
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end(String(received));
        return;
      }
      received++;
      res.writeHead(200, { "Content-Length": "0" });
      res.end();
    });
  })
  .listen(port, "127.0.0.1");
process.on("SIGTERM", () => {
  console.error(`receiver: ${received} deliveries`);
  process.exit(0);
});
