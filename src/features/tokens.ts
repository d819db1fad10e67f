// Token ids as the text a reader sees. A tokenizer's decode() of one id drops a leading space (sentencepiece
// strips the dummy prefix at the start of a text), so each id is decoded after an anchor token and the
// anchor's own text removed: "▁the" reads " the", as it does inside the story.
import type { Tokenizer } from '../model/tokenizer.js';

export function tokenTexts(tok: Tokenizer | null): (id: number) => string {
  const cache = new Map<number, string>();
  if (tok === null) return (id) => `#${id}`;
  const anchorIds = tok.encode('a');
  const anchor = anchorIds[anchorIds.length - 1];
  const anchorText = anchor === undefined ? '' : tok.decode([anchor]);
  return (id) => {
    let t = cache.get(id);
    if (t !== undefined) return t;
    if (id === tok.bosId) t = '<bos>';
    else if (anchor !== undefined) {
      const both = tok.decode([anchor, id]);
      t = both.startsWith(anchorText) ? both.slice(anchorText.length) : tok.decode([id]);
    } else t = tok.decode([id]);
    if (t === '') t = `<${id}>`;
    cache.set(id, t);
    return t;
  };
}
