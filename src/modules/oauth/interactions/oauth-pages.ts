import { PERMISSION_WORDS, type Permission } from '../../../common/auth/permission.js';

/** What each scope lets a client do, in the words the consent page shows. */
const SCOPE_WORDS = PERMISSION_WORDS;

/** Every interpolated value goes through here: the pages show client names and emails. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

export interface LoginPage {
  uid: string;
  csrf: string;
  clientName: string;
  email?: string;
  error?: string;
}

export interface SecondFactorPage {
  uid: string;
  csrf: string;
  clientName: string;
  /** The sign-in this page continues (see MfaSignInService); single use, 5 minutes. */
  mfaToken: string;
  error?: string;
}

export interface ConsentPage {
  uid: string;
  csrf: string;
  clientName: string;
  scopes: string[];
}

/** Server-rendered sign-in and consent pages: no script, no style, so the CSP can forbid both. */
export class OAuthPages {
  login(page: LoginPage): string {
    const base = `/oauth/interaction/${encodeURIComponent(page.uid)}`;
    return layout(
      'Sign in',
      `<p>Sign in to continue to <strong>${escapeHtml(page.clientName)}</strong>.</p>
${page.error ? `<p role="alert">${escapeHtml(page.error)}</p>` : ''}
<form method="post" action="${base}/login" autocomplete="on">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<label>Email <input type="email" name="email" required maxlength="320" autocomplete="username" value="${escapeHtml(page.email ?? '')}"></label>
<label>Password <input type="password" name="password" required maxlength="1024" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${base}/abort">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<button type="submit">Cancel</button>
</form>`,
    );
  }

  /** After the password, for a user with a second factor: a TOTP code or a recovery code. */
  secondFactor(page: SecondFactorPage): string {
    const base = `/oauth/interaction/${encodeURIComponent(page.uid)}`;
    return layout(
      'Second factor',
      `<p>Enter the code from your authenticator app (or a recovery code) to continue to <strong>${escapeHtml(page.clientName)}</strong>.</p>
${page.error ? `<p role="alert">${escapeHtml(page.error)}</p>` : ''}
<form method="post" action="${base}/mfa" autocomplete="off">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<input type="hidden" name="mfaToken" value="${escapeHtml(page.mfaToken)}">
<label>Code <input type="text" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code"></label>
<label>or a recovery code <input type="text" name="recoveryCode" maxlength="40"></label>
<button type="submit">Continue</button>
</form>
<form method="post" action="${base}/abort">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<button type="submit">Cancel</button>
</form>`,
    );
  }

  consent(page: ConsentPage): string {
    const base = `/oauth/interaction/${encodeURIComponent(page.uid)}`;
    const items = page.scopes
      .map((scope) => `<li>${escapeHtml(SCOPE_WORDS[scope as Permission] ?? scope)}</li>`)
      .join('\n');
    return layout(
      'Allow access?',
      `<p><strong>${escapeHtml(page.clientName)}</strong> asks to act on your behalf:</p>
<ul>
${items || '<li>Nothing beyond knowing who you are</li>'}
</ul>
<form method="post" action="${base}/confirm">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<button type="submit" name="decision" value="allow">Allow</button>
</form>
<form method="post" action="${base}/abort">
<input type="hidden" name="csrf" value="${escapeHtml(page.csrf)}">
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
    );
  }

  error(title: string, detail: string): string {
    return layout('Something went wrong', `<p>${escapeHtml(title)}</p><p>${escapeHtml(detail)}</p>`);
  }
}
