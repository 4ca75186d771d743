/**
 * One spelling per mailbox: compatibility forms folded (NFKC, so full-width `ａ` is `a`),
 * then lower-cased, so `A@X.com`, `a@x.com` and `ａ@x.com` are one account.
 */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}
