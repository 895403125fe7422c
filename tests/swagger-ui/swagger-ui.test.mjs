// Swagger UI in a real browser: Authorize with a bearer token, Try it out on POST /devices with the example
// (pointed at a real location), Execute, and see 201. Needs BASE_URL, BEARER_TOKEN and LOCATION_ID (run.sh sets them).
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const { BASE_URL, BEARER_TOKEN, LOCATION_ID } = process.env;
assert.ok(BASE_URL && BEARER_TOKEN && LOCATION_ID, 'BASE_URL, BEARER_TOKEN and LOCATION_ID must be set');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  const violations = [];
  page.on('console', message => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  const served = await page.goto(`${BASE_URL}/swagger/index.html`);
  assert.match(served.headers()['content-security-policy'] ?? '', /script-src 'self'/, 'Swagger UI is served with a Content-Security-Policy');

  // Authorize: the bearer scheme's value field, then its Authorize button.
  await page.locator('button.authorize').first().click();
  const bearer = page.locator('.modal-ux form').filter({ hasText: 'bearer_token' }).first();
  await bearer.locator('input').fill(BEARER_TOKEN);
  await bearer.locator('button[type=submit]').click();
  await bearer.locator('button', { hasText: 'Logout' }).waitFor();
  await page.locator('.modal-ux button.close-modal').click();

  // POST /devices: open it; "Try it out" is on by default; the example body is the seed request.
  const operation = page.locator('#operations-Devices-device_create');
  await operation.locator('.opblock-summary').click();
  const body = operation.locator('textarea.body-param__text');
  const example = JSON.parse(await body.inputValue());
  assert.equal(example.reference_id, 'DEV1234567890', 'the example is the seed request');
  example.locations = [LOCATION_ID];
  await body.fill(JSON.stringify(example, null, 2));
  await operation.locator('button.execute').click();

  const status = operation.locator('.live-responses-table tbody .response .response-col_status').first();
  await status.waitFor({ timeout: 30_000 });
  const code = (await status.innerText()).trim();
  const response = await operation.locator('.live-responses-table tbody .response .response-col_description pre').first().innerText();
  assert.equal(code, '201', `Swagger UI showed ${code}: ${response}`);
  const device = JSON.parse(response);
  assert.match(device.id, /^dev_[0-9a-f]{24}$/);
  assert.deepEqual(device.locations, [LOCATION_ID]);
  assert.deepEqual(violations, [], 'Swagger UI works within its Content-Security-Policy');
  // Outside Development, the token is not kept in the browser's storage.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  assert.ok(!stored.includes(BEARER_TOKEN), 'the bearer token is not persisted in localStorage');
  console.log(`Swagger UI: Authorize + Try it out on POST /devices answered 201 (${device.id}), within its CSP, nothing persisted`);
} finally {
  await browser.close();
}
