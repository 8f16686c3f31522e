// Turning a server row into what the executor needs, decrypting its key. Used by
// the worker only: nothing here is ever returned to a browser.
import type { Db } from "../db";
import type { SecretBox } from "../secrets/envelope";
import type { Target } from "../exec/ssh-executor";
import { keyContext, passphraseContext } from "./ssh-keys";

export async function loadTarget(db: Db, box: SecretBox, serverId: string): Promise<Target & { id: string }> {
  const s = await db.server.findUniqueOrThrow({ where: { id: serverId }, include: { sshKey: true } });
  return {
    id: s.id,
    name: s.name,
    address: s.address,
    port: s.port,
    user: s.user,
    privateKey: box.decrypt(s.sshKey.privateKeyEnc, keyContext(s.sshKey.id)),
    passphrase: s.sshKey.passphraseEnc ? box.decrypt(s.sshKey.passphraseEnc, passphraseContext(s.sshKey.id)) : null,
    hostKey: s.hostKey,
  };
}
