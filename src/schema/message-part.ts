import { builder } from "./builder.ts";

/** An AI SDK UIMessage part as stored (the parts column is the UIMessage's parts array). */
export type StoredPart = { type: string } & Record<string, unknown>;

const str = (part: StoredPart, key: string) => (typeof part[key] === "string" ? (part[key] as string) : null);

const TextPart = builder.objectRef<StoredPart>("TextPart").implement({
  fields: (t) => ({ text: t.string({ resolve: (p) => str(p, "text") ?? "" }) }),
});

const ReasoningPart = builder.objectRef<StoredPart>("ReasoningPart").implement({
  fields: (t) => ({ text: t.string({ resolve: (p) => str(p, "text") ?? "" }) }),
});

const ToolPart = builder.objectRef<StoredPart>("ToolPart").implement({
  description: "A tool call: `tool-<name>` or `dynamic-tool` parts of a UIMessage.",
  fields: (t) => ({
    toolCallId: t.string({ resolve: (p) => str(p, "toolCallId") ?? "" }),
    toolName: t.string({ resolve: (p) => toolNameOf(p) }),
    state: t.string({
      description: "input-streaming, input-available, output-available, output-error, ...",
      resolve: (p) => str(p, "state") ?? "input-available",
    }),
    input: t.field({ type: "JSON", nullable: true, resolve: (p) => p.input ?? null }),
    output: t.field({ type: "JSON", nullable: true, resolve: (p) => p.output ?? null }),
    errorText: t.string({ nullable: true, resolve: (p) => str(p, "errorText") }),
  }),
});

const FilePart = builder.objectRef<StoredPart>("FilePart").implement({
  fields: (t) => ({
    mediaType: t.string({ resolve: (p) => str(p, "mediaType") ?? "application/octet-stream" }),
    url: t.string({ resolve: (p) => str(p, "url") ?? "" }),
    filename: t.string({ nullable: true, resolve: (p) => str(p, "filename") }),
  }),
});

const SourceUrlPart = builder.objectRef<StoredPart>("SourceUrlPart").implement({
  fields: (t) => ({
    sourceId: t.string({ resolve: (p) => str(p, "sourceId") ?? "" }),
    url: t.string({ resolve: (p) => str(p, "url") ?? "" }),
    title: t.string({ nullable: true, resolve: (p) => str(p, "title") }),
  }),
});

const SourceDocumentPart = builder.objectRef<StoredPart>("SourceDocumentPart").implement({
  fields: (t) => ({
    sourceId: t.string({ resolve: (p) => str(p, "sourceId") ?? "" }),
    mediaType: t.string({ resolve: (p) => str(p, "mediaType") ?? "" }),
    title: t.string({ nullable: true, resolve: (p) => str(p, "title") }),
    filename: t.string({ nullable: true, resolve: (p) => str(p, "filename") }),
  }),
});

const DataPart = builder.objectRef<StoredPart>("DataPart").implement({
  description: "A custom `data-<name>` part.",
  fields: (t) => ({
    name: t.string({ resolve: (p) => p.type.slice("data-".length) }),
    id: t.string({ nullable: true, resolve: (p) => str(p, "id") }),
    data: t.field({ type: "JSON", nullable: true, resolve: (p) => p.data ?? null }),
  }),
});

const StepStartPart = builder.objectRef<StoredPart>("StepStartPart").implement({
  description: "A step boundary; `stepStart` is always true.",
  fields: (t) => ({ stepStart: t.boolean({ resolve: () => true }) }),
});

function toolNameOf(part: StoredPart): string {
  if (part.type === "dynamic-tool") return str(part, "toolName") ?? "";
  return part.type.slice("tool-".length);
}

/** The GraphQL member for a stored part, or null for part types this schema does not know yet. */
export function partTypeName(part: StoredPart): string | null {
  const { type } = part;
  if (type === "text") return "TextPart";
  if (type === "reasoning") return "ReasoningPart";
  if (type === "dynamic-tool" || type.startsWith("tool-")) return "ToolPart";
  if (type === "file") return "FilePart";
  if (type === "source-url") return "SourceUrlPart";
  if (type === "source-document") return "SourceDocumentPart";
  if (type.startsWith("data-")) return "DataPart";
  if (type === "step-start") return "StepStartPart";
  return null;
}

export const MessagePartUnion = builder.unionType("MessagePart", {
  description: "AI SDK UIMessage parts, typed.",
  types: [TextPart, ReasoningPart, ToolPart, FilePart, SourceUrlPart, SourceDocumentPart, DataPart, StepStartPart],
  resolveType: (part) => partTypeName(part),
});

/** The parts a client can be shown: unknown future part types are left out, not failed on. */
export function knownParts(parts: unknown): StoredPart[] {
  if (!Array.isArray(parts)) return [];
  return parts.filter(
    (p): p is StoredPart => !!p && typeof p === "object" && typeof p.type === "string" && partTypeName(p) !== null,
  );
}
