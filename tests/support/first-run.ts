// Completing first-run setup over HTTP with the link that npm start printed, as an
// operator would in the browser; returns the admin's session cookie.
export async function setupAdminFromStartOutput(output: string, baseUrl: string, email = "admin@example.test", password = "admin password 123") {
  const m = /First run: create the first admin at (\S+)\/setup\?token=(\S+)/.exec(output);
  if (!m) throw new Error(`npm start printed no setup link:\n${output}`);
  const res = await fetch(`${baseUrl}/api/trpc/auth.setup`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-rampart-csrf": "1", origin: baseUrl },
    body: JSON.stringify({ json: { token: m[2], email, name: "Admin", password } }),
  });
  if (!res.ok) throw new Error(`setup failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  return { cookie, email, password, setupUrl: `${m[1]}/setup?token=${m[2]}` };
}
