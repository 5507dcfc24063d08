import type { HttpServer } from './server.ts';

// `GET /invite#FN-…`: where an invite's `url` leads. The code travels in the fragment, which browsers
// never send: it reaches no server log, proxy or Referer. The page is static; its script reads the
// fragment and writes it with textContent only (nothing from the URL is ever parsed as HTML).
const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>FanNotes invite</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
  body { max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }
  code, #code { font-family: ui-monospace, monospace; }
  #code { font-size: 1.4rem; padding: .6rem .8rem; border: 1px solid #8888; border-radius: .4rem;
    display: inline-block; user-select: all; word-break: break-all; }
  pre { white-space: pre-wrap; word-break: break-all; background: #8881; padding: .6rem; border-radius: .4rem; }
  button { font: inherit; margin-left: .5rem; }
  [hidden] { display: none; }
</style></head>
<body>
<h1>You are invited to a FanNotes team</h1>
<section id="found" hidden>
  <p>Your invite code:</p>
  <p><span id="code"></span><button id="copy" type="button">Copy</button></p>
  <h2>Join with the extension</h2>
  <p>Open the FanNotes extension's options (right-click its icon, then <b>Options</b>) while signed in.
  Under <b>Team</b>, in <b>Join a team</b>, paste the code (or this page's link) and press <b>Join</b>.</p>
  <h2>Join with the API</h2>
  <pre id="curl"></pre>
  <p>The code works until it expires, is revoked or its uses run out. Keep it to yourself: anyone who has
  it can join the team with it.</p>
</section>
<p id="missing" hidden>This link carries no invite code. Ask whoever invited you for the whole link or the code.</p>
<script src="/invite.js"></script>
</body>
</html>`;

const script = `(function () {
  // The same reading as the contract's parseInviteCode: FN-, then 26 Crockford base32 characters.
  var text = location.hash.slice(1);
  try { text = decodeURIComponent(text); } catch (error) {}
  var match = /FN[-\\s]?([0-9A-Za-z][0-9A-Za-z\\s-]{24,60})/i.exec(text);
  var body = match ? match[1].replace(/[\\s-]/g, '').toUpperCase().slice(0, 26) : '';
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(body)) { document.getElementById('missing').hidden = false; return; }
  var code = 'FN-' + body;
  document.getElementById('code').textContent = code;
  document.getElementById('curl').textContent =
    'curl -X POST ' + location.origin + '/api/v2/invites/redeem \\\\\\n' +
    '  -H "Authorization: Bearer $ACCESS_TOKEN" -H "Content-Type: application/json" \\\\\\n' +
    "  -d '" + JSON.stringify({ code: code }) + "'";
  document.getElementById('found').hidden = false;
  document.getElementById('copy').addEventListener('click', function () {
    navigator.clipboard.writeText(code).then(function () {
      document.getElementById('copy').textContent = 'Copied';
    });
  });
})();`;

const csp =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** `GET /invite` (the page an invite link opens) and its script. No CDN, nothing from the request echoed. */
export function registerInvitePage(app: HttpServer): void {
  app.get('/invite', (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', csp)
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'public, max-age=3600')
      .send(page),
  );
  app.get('/invite.js', (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(script),
  );
}
