/**
 * S3's XML, through fast-xml-parser: documents out (`xmlDocument`) and the few request bodies in
 * (`parseXml`), with entity expansion and DOCTYPEs refused, a size bound, and element values
 * kept as strings (a key named `007` stays `007`).
 */
import { XMLBuilder, XMLParser, XMLValidator } from "fast-xml-parser";
import { S3Errors } from "../errors.ts";

/** The S3 namespace on response roots. */
export const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@_", suppressEmptyNode: false, processEntities: true, format: false });
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: true, htmlEntities: true /* numeric references (Go escapes quotes as &#34;) */, isArray: (name) => name === "Part" || name === "Object" });

/** A response document: `<?xml ...?><root xmlns=S3>...</root>`. */
export function xmlDocument(root: string, body: Record<string, unknown>, namespace = true): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: namespace ? { "@_xmlns": S3_NS, ...body } : body })}`;
}

/** One element (no declaration): `<name>...</name>`, for documents built piece by piece. */
export function xmlFragment(name: string, body: Record<string, unknown>): string {
  return builder.build({ [name]: body }) as string;
}

/** Longest request document accepted (DeleteObjects of 1000 keys fits). */
export const MAX_XML_BYTES = 2 * 1024 * 1024;

/**
 * Parses a request body; `root` must be its root element.
 * @throws S3:MalformedXML for anything not well-formed, with a DOCTYPE, or rooted elsewhere.
 */
export function parseXml(text: string, root: string): Record<string, unknown> {
  if (text.length > MAX_XML_BYTES) throw S3Errors.MalformedXML("the XML document is too large");
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw S3Errors.MalformedXML("DOCTYPE and ENTITY declarations are not accepted");
  if (XMLValidator.validate(text) !== true) throw S3Errors.MalformedXML("the XML you provided was not well-formed or did not validate against our published schema");
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw S3Errors.MalformedXML("the XML you provided was not well-formed", { cause: e });
  }
  const v = doc[root];
  if (v === undefined) throw S3Errors.MalformedXML(`the root element must be ${root}`);
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
}
