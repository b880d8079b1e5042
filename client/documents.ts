// What the client reads off a typed document: its name, persisted hash and text.
import { print, type DocumentNode } from "graphql";

/** The operation's name (also the react-query key prefix). */
export function operationNameOf(document: DocumentNode): string {
  for (const definition of document.definitions) {
    if (definition.kind === "OperationDefinition" && definition.name) return definition.name.value;
  }
  throw new Error("The document has no named operation.");
}

/** The persisted document id codegen embedded in the document (`sha256:<hex>`), if any. */
export function persistedHashOf(document: DocumentNode): string | undefined {
  return (document as { __meta__?: { hash?: string } }).__meta__?.hash;
}

const printed = new WeakMap<DocumentNode, string>();
export function queryOf(document: DocumentNode): string {
  let query = printed.get(document);
  if (query === undefined) {
    query = print(document);
    printed.set(document, query);
  }
  return query;
}
