import { describe, expect, it } from 'vitest';
import { escapeHtml, plainText, renderMail } from './mail-templates.js';

const context = { publicUrl: 'https://api.example.com' };

describe(renderMail.name, () => {
  it('should put the token in a link under PUBLIC_URL and on a Code line of its own', () => {
    const mail = renderMail('password-reset', { displayName: 'Ada', token: 'nsa_reset_abc-DEF_123' }, context);
    expect(mail.subject).toBe('Reset your password');
    expect(mail.text).toContain('https://api.example.com/account/reset-password#token=nsa_reset_abc-DEF_123');
    expect(mail.text).toMatch(/^Code: nsa_reset_abc-DEF_123$/m);
    expect(mail.html).toContain('href="https://api.example.com/account/reset-password#token=nsa_reset_abc-DEF_123"');
  });

  it('should escape every value in the HTML and keep each on its line in the text', () => {
    const hostile = '<script>alert(1)</script>"\'&\r\nBcc: x@example.com';
    const mail = renderMail('api-key-created', { displayName: hostile, name: hostile }, context);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
    expect(mail.text).not.toMatch(/\r|\nBcc:/);
    expect(mail.subject).toBe('A new API key was created');
  });
});

describe(plainText.name, () => {
  it('should turn CR, LF, other control characters and Unicode line separators into spaces', () => {
    expect(plainText('a\r\nb\u0000c\u2028d\u0085e')).toBe('a  b c d e');
  });
});

describe(escapeHtml.name, () => {
  it('should escape the characters that open markup or attributes', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;',
    );
  });
});
