/**
 * XML → a small element tree that keeps document order and each element's line and column, for
 * the SBML reader and its error messages. Parsing is @xmldom/xmldom's (a maintained W3C DOM
 * parser; MathML operand order is element order, which a DOM keeps), with its well-formedness
 * errors turned into InputErrors that name the line.
 */
import { DOMParser } from '@xmldom/xmldom';
import { InputError } from '../csv.js';

export interface XmlElement {
  /** Local name (no namespace prefix). */
  name: string;
  namespace: string | null;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** All text directly inside, concatenated. */
  text: string;
  /** Direct text split at <sep/> children (MathML e-notation and rational numbers). */
  textParts: string[];
  line: number;
  column: number;
}

/** DOM node types (the W3C constants). */
const ELEMENT = 1, TEXT = 3, CDATA = 4;

interface DomNode {
  nodeType: number; localName?: string | null; nodeName: string; namespaceURI?: string | null; data?: string;
  childNodes: ArrayLike<DomNode>; attributes?: ArrayLike<{ localName?: string | null; name: string; value: string }>;
  lineNumber?: number; columnNumber?: number;
}

function convert(node: DomNode): XmlElement {
  const attrs: Record<string, string> = {};
  for (let i = 0; i < (node.attributes?.length ?? 0); i++) {
    const a = node.attributes![i]!;
    attrs[a.localName ?? a.name] = a.value;
  }
  const children: XmlElement[] = [];
  const textParts = [''];
  let text = '';
  for (let i = 0; i < node.childNodes.length; i++) {
    const c = node.childNodes[i]!;
    if (c.nodeType === ELEMENT) {
      const el = convert(c);
      if (el.name === 'sep') textParts.push('');
      else children.push(el);
    } else if (c.nodeType === TEXT || c.nodeType === CDATA) {
      text += c.data ?? '';
      textParts[textParts.length - 1] += c.data ?? '';
    }
  }
  return {
    name: node.localName ?? node.nodeName, namespace: node.namespaceURI ?? null, attrs, children, text, textParts,
    line: node.lineNumber ?? 0, column: node.columnNumber ?? 0,
  };
}

/** Parses XML text; a malformed document is an InputError naming `file:line:column`. */
export function parseXml(text: string, file: string): XmlElement {
  let firstError: string | undefined, at: { lineNumber?: number; columnNumber?: number } | undefined;
  const parser = new DOMParser({
    onError: (level: string, message: string, context?: { locator?: { lineNumber?: number; columnNumber?: number } }) => {
      if (level !== 'warning' && firstError === undefined) { firstError = message; at = context?.locator; }
    },
  });
  let doc: { documentElement: DomNode | null } | undefined;
  try {
    doc = parser.parseFromString(text, 'application/xml') as unknown as { documentElement: DomNode | null };
  } catch (err) {
    firstError ??= (err as Error).message;
  }
  if (firstError !== undefined || !doc?.documentElement) {
    const where = at?.lineNumber ? `${file}:${at.lineNumber}:${at.columnNumber ?? 0}` : file;
    throw new InputError(`${where}: not well-formed XML (${(firstError ?? 'no root element').split('\n')[0]!.replace(/\s*\n.*/s, '')})`);
  }
  return convert(doc.documentElement);
}

/** The child elements named `name` (any namespace). */
export const childrenNamed = (el: XmlElement, name: string) => el.children.filter((c) => c.name === name);
/** The first child element named `name`, if any. */
export const childNamed = (el: XmlElement, name: string) => el.children.find((c) => c.name === name);
/** Elements of a listOf… child (`listOfSpecies` → its `species`), in order. */
export const listOf = (el: XmlElement, list: string, item: string) => childrenNamed(childNamed(el, list) ?? { children: [] } as unknown as XmlElement, item);
