// Webhook receiver for bench/run.sh: answers 200 to every POST at once, as a healthy integrator would.
// Node's http server: light enough not to take the CPU the service and PostgreSQL are measured on.
const http = require("http");
const port = Number(process.argv[2]);
let received = 0;
http
  .createServer((req, res) => {
    req.resume();
    req.on("end", () => {
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
