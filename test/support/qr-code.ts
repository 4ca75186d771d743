import jsQRModule from 'jsqr';

// jsqr is CommonJS: Node hands over its exports as the default import, the decoder as `default`.
const jsQR = jsQRModule.default;

/**
 * What a phone camera would read off a QR code drawn as an SVG data URL: the SVG's dark
 * squares painted into a bitmap and handed to jsQR, a decoder that shares no code with the
 * encoder, so a test proves what the picture says rather than what the server meant it to.
 * Reads the shape our encoder (uqr) draws: one white rect, then one path of `M x,y h s v s h -s z`
 * squares; anything else fails here, visibly.
 */
export function readQrCode(dataUrl: string): string | null {
  const prefix = 'data:image/svg+xml;base64,';
  if (!dataUrl.startsWith(prefix)) throw new Error('not an SVG data URL');
  const svg = Buffer.from(dataUrl.slice(prefix.length), 'base64').toString('utf8');
  const viewBox = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  const path = /<path fill="black" d="([^"]*)"/.exec(svg);
  if (!viewBox || !path) throw new Error('not an SVG as uqr draws it');
  const [width, height] = [Number(viewBox[1]), Number(viewBox[2])];
  const pixels = new Uint8ClampedArray(width * height * 4).fill(255);
  for (const square of (path[1] ?? '').matchAll(/M(\d+),(\d+)h(\d+)v(\d+)h-\d+z/g)) {
    const [x, y, w, h] = square.slice(1).map(Number) as [number, number, number, number];
    for (let row = y; row < y + h; row++) {
      for (let col = x; col < x + w; col++) pixels.fill(0, (row * width + col) * 4, (row * width + col) * 4 + 3);
    }
  }
  return jsQR(pixels, width, height)?.data ?? null;
}
