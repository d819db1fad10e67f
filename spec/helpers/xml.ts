// A strict XML well-formedness parser for the specs (enough of XML 1.0 for SVG): one root element, matched
// tags, quoted and unique attributes, only the predefined or numeric entity references, comments, CDATA, an
// optional XML declaration and DOCTYPE before the root. Throws on anything else; returns the element tree.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

export function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    const line = src.slice(0, i).split('\n').length;
    throw new Error(`XML: ${msg} at line ${line}: ${JSON.stringify(src.slice(i, i + 40))}`);
  };
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const name = (): string => {
    const m = NAME.exec(src.slice(i, i + 200));
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  /** Character data up to `<`, with entity references checked; returns the decoded text. */
  const chars = (stop: string): string => {
    let out = '';
    while (i < src.length && !stop.includes(src[i]!)) {
      if (src[i] === '&') {
        const m = ENTITY.exec(src.slice(i, i + 12));
        if (!m) fail('bad entity reference');
        out += m![1] === 'amp' ? '&' : m![1] === 'lt' ? '<' : m![1] === 'gt' ? '>' : m![1] === 'quot' ? '"' : m![1] === 'apos' ? "'" : String.fromCodePoint(m![1]!.startsWith('#x') ? parseInt(m![1]!.slice(2), 16) : parseInt(m![1]!.slice(1), 10));
        i += m![0].length;
      } else if (src[i] === '<') fail("'<' in character data");
      else out += src[i++];
    }
    return out;
  };
  const misc = () => {
    for (;;) {
      skipWs();
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        if (src.slice(i + 4, end).includes('--')) fail("'--' inside a comment");
        i = end + 3;
      } else if (src.startsWith('<?', i)) {
        const end = src.indexOf('?>', i);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else return;
    }
  };
  const element = (): XmlElement => {
    if (src[i] !== '<') fail("expected '<'");
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const before = i;
      skipWs();
      if (src.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      if (i === before) fail('expected whitespace before an attribute');
      const a = name();
      skipWs();
      if (src[i] !== '=') fail("expected '='");
      i++;
      skipWs();
      const q = src[i];
      if (q !== '"' && q !== "'") fail('unquoted attribute value');
      i++;
      const v = chars(q + '<');
      if (src[i] !== q) fail('unterminated attribute value');
      i++;
      if (a in el.attrs) fail(`duplicate attribute '${a}'`);
      el.attrs[a] = v;
    }
    for (;;) {
      el.text += chars('<');
      if (i >= src.length) fail(`unclosed <${el.name}>`);
      if (src.startsWith('</', i)) {
        i += 2;
        const n = name();
        if (n !== el.name) fail(`</${n}> closes <${el.name}>`);
        skipWs();
        if (src[i] !== '>') fail("expected '>'");
        i++;
        return el;
      }
      if (src.startsWith('<!--', i) || src.startsWith('<?', i)) misc();
      else if (src.startsWith('<![CDATA[', i)) {
        const end = src.indexOf(']]>', i);
        if (end < 0) fail('unterminated CDATA');
        el.text += src.slice(i + 9, end);
        i = end + 3;
      } else el.children.push(element());
    }
  };
  if (src.charCodeAt(0) === 0xfeff) i = 1;
  misc();
  if (src.startsWith('<!DOCTYPE', i)) {
    const end = src.indexOf('>', i);
    if (end < 0 || src.slice(i, end).includes('[')) fail('unsupported DOCTYPE');
    i = end + 1;
    misc();
  }
  const root = element();
  misc();
  if (i !== src.length) fail('content after the root element');
  return root;
}

/** Every element of the tree, depth first. */
export function* walk(el: XmlElement): Generator<XmlElement> {
  yield el;
  for (const c of el.children) yield* walk(c);
}
