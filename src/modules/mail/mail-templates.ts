/**
 * Every mail the server sends, text and HTML, in one place: a fork edits its wording here.
 * Values arrive from the outbox as stored; each one is escaped where it lands (HTML through
 * the `html` tag, text stripped of control characters), so a display name such as
 * `<a href=...>` or one with line breaks shows as typed and shapes nothing. Subjects are
 * constants: no header is ever built from what a user typed.
 */

/** Where the links in mails point, under PUBLIC_URL: the pages of a fork's front end. */
export const MAIL_LINKS = {
  verifyEmail: '/account/verify-email',
  resetPassword: '/account/reset-password',
} as const;

export const PRODUCT_NAME = 'nest-secure-api';

/** Minutes a password-reset link lives; the mail says so (see ACCOUNT_TOKEN_TTL_SECONDS). */
export const RESET_LINK_MINUTES = 30;

/** The values each template needs, as the outbox stores them (JSON). */
export interface MailTemplateValues {
  'verify-email': { displayName: string; token: string };
  'change-email': { displayName: string; token: string };
  'change-email-taken': Record<string, never>;
  'register-attempt': Record<string, never>;
  'password-reset': { displayName: string; token: string };
  'password-changed': { displayName: string };
  'email-changed': { displayName: string; newEmail: string };
  'api-key-created': { displayName: string; name: string };
  'personal-token-created': { displayName: string; name: string };
  'new-sign-in': { displayName: string; address: string; userAgent: string; at: string };
  /** Sent by the MFA work when a second factor is added or removed (SECURITY_NOTICE). */
  'mfa-factor-added': { displayName: string; factor: string };
  'mfa-factor-removed': { displayName: string; factor: string };
}

export type MailTemplate = keyof MailTemplateValues;

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

interface Context {
  publicUrl: string;
}

/** A template's parts: each paragraph rendered as text and as escaped HTML. */
interface Parts {
  subject: string;
  greeting?: string;
  paragraphs: Line[];
  /** A button and its link; the same link is in the text. */
  action?: { label: string; url: string };
  /** Shown as a code to paste, for clients that cannot follow the link. */
  code?: string;
}

/** Literal wording with values: `line\`Hello ${name}\``; values are escaped per output. */
interface Line {
  strings: readonly string[];
  values: unknown[];
}

const line = (strings: TemplateStringsArray, ...values: unknown[]): Line => ({ strings, values });

const IGNORE =
  'If this was you, there is nothing to do. If it was not, change your password now and review your credentials.';

const TEMPLATES: { [K in MailTemplate]: (values: MailTemplateValues[K], context: Context) => Parts } = {
  'verify-email': (v, c) => ({
    subject: 'Confirm your email address',
    greeting: v.displayName,
    paragraphs: [line`Confirm that this address is yours to finish signing up to ${PRODUCT_NAME}.`],
    action: { label: 'Confirm my email', url: tokenLink(c, MAIL_LINKS.verifyEmail, v.token) },
    code: v.token,
  }),
  'change-email': (v, c) => ({
    subject: 'Confirm your new email address',
    greeting: v.displayName,
    paragraphs: [
      line`Someone asked to move a ${PRODUCT_NAME} account to this address. It moves once you confirm.`,
      line`If that was not you, ignore this mail: nothing changes.`,
    ],
    action: { label: 'Confirm the new address', url: tokenLink(c, MAIL_LINKS.verifyEmail, v.token) },
    code: v.token,
  }),
  'change-email-taken': () => ({
    subject: 'Someone tried to move an account to your address',
    paragraphs: [
      line`Someone asked to move a ${PRODUCT_NAME} account to this address, which already has an account. Nothing changed.`,
      line`If that was you, sign in to the account this address already has.`,
    ],
  }),
  'register-attempt': () => ({
    subject: 'Someone tried to sign up with your email',
    paragraphs: [
      line`Someone tried to create a ${PRODUCT_NAME} account with this address, which already has one. Nothing changed.`,
      line`If you forgot your password, reset it; if you never confirmed this address, ask for a new confirmation mail.`,
    ],
  }),
  'password-reset': (v, c) => ({
    subject: 'Reset your password',
    greeting: v.displayName,
    paragraphs: [
      line`Someone asked to reset the password of your ${PRODUCT_NAME} account. The link works once, for ${RESET_LINK_MINUTES} minutes.`,
      line`If it was not you, ignore this mail: your password stays as it is.`,
    ],
    action: { label: 'Choose a new password', url: tokenLink(c, MAIL_LINKS.resetPassword, v.token) },
    code: v.token,
  }),
  'password-changed': (v) => ({
    subject: 'Your password was changed',
    greeting: v.displayName,
    paragraphs: [
      line`The password of your ${PRODUCT_NAME} account was changed, and every sign-in ended.`,
      line`${IGNORE}`,
    ],
  }),
  'email-changed': (v) => ({
    subject: 'Your email address was changed',
    greeting: v.displayName,
    paragraphs: [
      line`Your ${PRODUCT_NAME} account now uses ${v.newEmail}; mail to this address stops.`,
      line`If it was not you, reset your password from the new address or contact support at once.`,
    ],
  }),
  'api-key-created': (v) => ({
    subject: 'A new API key was created',
    greeting: v.displayName,
    paragraphs: [line`An API key named "${v.name}" was created on your account.`, line`${IGNORE}`],
  }),
  'personal-token-created': (v) => ({
    subject: 'A new personal token was created',
    greeting: v.displayName,
    paragraphs: [line`A personal token named "${v.name}" was created on your account.`, line`${IGNORE}`],
  }),
  'new-sign-in': (v) => ({
    subject: 'New sign-in to your account',
    greeting: v.displayName,
    paragraphs: [
      line`Your account was signed in to from a device or address not seen before:`,
      line`${v.at}, from ${v.address}, with ${v.userAgent}.`,
      line`${IGNORE}`,
    ],
  }),
  'mfa-factor-added': (v) => ({
    subject: 'A second factor was added',
    greeting: v.displayName,
    paragraphs: [line`A second factor (${v.factor}) was added to your account.`, line`${IGNORE}`],
  }),
  'mfa-factor-removed': (v) => ({
    subject: 'A second factor was removed',
    greeting: v.displayName,
    paragraphs: [line`A second factor (${v.factor}) was removed from your account.`, line`${IGNORE}`],
  }),
};

export function isMailTemplate(name: string): name is MailTemplate {
  return Object.hasOwn(TEMPLATES, name);
}

/** The subject and both bodies of one mail. */
export function renderMail<K extends MailTemplate>(
  template: K,
  values: MailTemplateValues[K],
  context: Context,
): RenderedMail {
  const parts = TEMPLATES[template](values, context);
  return { subject: parts.subject, text: renderText(parts), html: renderHtml(parts) };
}

function tokenLink(context: Context, path: string, token: string): string {
  // In the fragment: never sent to a server, so never in an access log or a Referer.
  return `${context.publicUrl}${path}#token=${encodeURIComponent(token)}`;
}

/** Control characters (CR and LF among them) become spaces; a value stays on its line. */
export function plainText(value: unknown): string {
  // eslint-disable-next-line no-control-regex
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
}

export function escapeHtml(value: unknown): string {
  return plainText(value).replace(
    /[&<>"'`]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c] ?? c,
  );
}

function joinLine({ strings, values }: Line, escape: (value: unknown) => string): string {
  return strings.reduce((out, text, i) => out + text + (i < values.length ? escape(values[i]) : ''), '');
}

function renderText(parts: Parts): string {
  const lines = [
    ...(parts.greeting === undefined ? [] : [`Hello ${plainText(parts.greeting)},`, '']),
    ...parts.paragraphs.flatMap((p) => [joinLine(p, plainText), '']),
    ...(parts.action ? [`${parts.action.label}: ${parts.action.url}`, ''] : []),
    // On a line of its own, so it can be copied (or read by a script) as is.
    ...(parts.code === undefined ? [] : ['Or paste this code:', `Code: ${plainText(parts.code)}`, '']),
    `-- ${PRODUCT_NAME}`,
  ];
  return `${lines.join('\n')}\n`;
}

function renderHtml(parts: Parts): string {
  const body = [
    ...(parts.greeting === undefined ? [] : [`<p>Hello ${escapeHtml(parts.greeting)},</p>`]),
    ...parts.paragraphs.map((p) => `<p>${joinLine(p, escapeHtml)}</p>`),
    ...(parts.action ? [`<p><a href="${escapeHtml(parts.action.url)}">${escapeHtml(parts.action.label)}</a></p>`] : []),
    ...(parts.code === undefined ? [] : [`<p>Or paste this code: <code>${escapeHtml(parts.code)}</code></p>`]),
    `<p>&mdash; ${escapeHtml(PRODUCT_NAME)}</p>`,
  ];
  return `<!doctype html><html><body>${body.join('')}</body></html>`;
}
