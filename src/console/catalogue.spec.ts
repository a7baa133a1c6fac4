import { join } from 'node:path';
import { RULES } from '../findings/rule';
import { REASON_VERDICTS } from '../request-objects/verification/reasons';
import { readCatalogue, tableRows } from './catalogue';

describe('the words the review console shows for codes', () => {
  const catalogue = readCatalogue(join(__dirname, '../..'));

  it('has every reason code independent verification can give, with the verdict the code leads to', () => {
    for (const [code, verdict] of Object.entries(REASON_VERDICTS)) {
      expect({ code, verdict: catalogue.reasons[code]?.verdict, rule: typeof catalogue.reasons[code]?.rule }).toEqual({ code, verdict, rule: 'string' });
    }
  });

  it('has every finding rule', () => {
    expect(RULES.filter((rule) => !catalogue.rules[rule]?.firesWhen)).toEqual([]);
  });

  it('reads a table only where its header is, and stops at its end', () => {
    const markdown = 'intro\n\n| a | b |\n|---|---|\n| `x` | one |\n| y | two |\n\nafter | not a row';
    expect(tableRows(markdown, ['a', 'b'])).toEqual([
      ['`x`', 'one'],
      ['y', 'two'],
    ]);
    expect(() => tableRows(markdown, ['a', 'c'])).toThrow('no table with the columns a, c');
  });
});
