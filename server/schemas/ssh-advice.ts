// What an SSH failure means and what to check, for the console: read from the error the
// executor recorded (server/exec/ssh-executor.ts writes these messages), with the command
// that installs Rampart's key when the server refused it (the key's own install command,
// run as the server's user). Pure.

export interface SshAdvice {
  /** What happened, in one line. */
  meaning: string;
  /** What to check, in the order an operator would. */
  checks: string[];
  /** A command to run on the server, as the user Rampart logs in as, that fixes it (when there is one). */
  command: string | null;
}

export function sshAdvice(error: string, server: { address: string; port: number; user: string; keyName: string; installCommand: string | null }): SshAdvice | null {
  const where = `${server.address}:${server.port}`;
  if (/refused the key/.test(error))
    return {
      meaning: `The server answered SSH but refused Rampart's key "${server.keyName}" for ${server.user}.`,
      checks: [
        `The key's public half is in ~${server.user}/.ssh/authorized_keys on the server (the command below adds it).`,
        `sshd allows ${server.user} to log in with a key (PubkeyAuthentication yes${server.user === "root" ? ", PermitRootLogin prohibit-password" : ""}).`,
        "~/.ssh is 700 and authorized_keys 600, owned by the user (sshd ignores them otherwise).",
      ],
      command: server.installCommand,
    };
  if (/ECONNREFUSED/.test(error))
    return {
      meaning: `${where} refused the connection: the host is up, but nothing listens for SSH on port ${server.port}.`,
      checks: [`sshd runs on the server (systemctl status ssh).`, `The port is right: sshd listens on ${server.port} (ss -tln on the server).`],
      command: null,
    };
  if (/ENOTFOUND|EAI_AGAIN/.test(error))
    return {
      meaning: `${server.address} does not resolve to an address.`,
      checks: ["The name is spelled right, or use the server's IP address.", "This machine's DNS resolver answers."],
      command: null,
    };
  if (/did not complete the SSH handshake|closed the connection during the handshake/.test(error))
    return {
      meaning: `Something answers on ${where} but does not speak SSH to Rampart.`,
      checks: [`Port ${server.port} is sshd's (not another service).`, "sshd is not rejecting the connection (MaxStartups, a tcp-wrappers or fail2ban ban on this machine's address)."],
      command: null,
    };
  if (/unreachable|did not answer|no answer within|EHOSTUNREACH|ENETUNREACH|connection was lost/.test(error))
    return {
      meaning: `${where} did not answer: the host is down, or a firewall drops the packets on the way.`,
      checks: [
        "The server is running (its provider's console).",
        `The address ${server.address} is the server's, and this machine has a route to it.`,
        `A firewall (the server's own or the network's) lets this machine reach port ${server.port}.`,
      ],
      command: null,
    };
  if (/HOST KEY MISMATCH/.test(error))
    return {
      meaning: "The server presented another host key than the one pinned: Rampart stopped before logging in.",
      checks: ["Whether the server was reinstalled or its keys regenerated (then an admin re-pins the new key).", "Otherwise, someone may be intercepting the connection: do not re-pin."],
      command: null,
    };
  if (/not trusted yet/.test(error))
    return {
      meaning: "First contact: the server's host key is not pinned yet.",
      checks: ["Compare the fingerprint with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on it), then accept it here."],
      command: null,
    };
  return null;
}
