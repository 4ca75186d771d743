import { describe, expect, it } from 'vitest';
import { allExamples, commandsOf, exampleProblems } from './doc-examples.js';

describe('examples in README.md, SECURITY.md and docs/', () => {
  it('should each say how they are proven, and be in CI or the test that claims to run them', () => {
    const examples = allExamples();
    expect(examples.length).toBeGreaterThanOrEqual(4);
    expect(exampleProblems(examples)).toEqual([]);
  });

  it('should read one command per line, continuation lines joined and comments dropped', () => {
    const script = ['# a comment', 'curl -s a \\', '  -d x   # trailing', 'npm test'].join('\n');
    expect(commandsOf(script)).toEqual(['curl -s a -d x', 'npm test']);
  });
});
