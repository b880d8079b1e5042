import { builder } from "./builder.ts";

/** An AI SDK UIMessage part as stored (the parts column is the UIMessage's parts array). */
export type StoredPart = { type: string } & Record<string, unknown>;

const strOf = (value: unknown) => (typeof value === "string" ? value : null);
const str = (part: StoredPart, key: string) => strOf(part[key]);

const TextPart = builder.objectRef<StoredPart>("TextPart").implement({
  fields: (t) => ({ text: t.string({ resolve: (p) => str(p, "text") ?? "" }) }),
});

const ReasoningPart = builder.objectRef<StoredPart>("ReasoningPart").implement({
  fields: (t) => ({ text: t.string({ resolve: (p) => str(p, "text") ?? "" }) }),
});

type StoredApproval = { id: string } & Record<string, unknown>;
const isApproval = (value: unknown): value is StoredApproval =>
  typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string";

const ToolApproval = builder.objectRef<StoredApproval>("ToolApproval").implement({
  description: "A tool call's approval: asked for, then answered by the user (or automatically).",
  fields: (t) => ({
    id: t.id({ resolve: (a) => a.id }),
    approved: t.boolean({
      nullable: true,
      description: "Null while the user has not answered.",
      resolve: (a) => (typeof a.approved === "boolean" ? a.approved : null),
    }),
    requestReason: t.string({
      nullable: true,
      description: "Why the tool asked.",
      resolve: (a) => strOf(a.requestReason),
    }),
    reason: t.string({
      nullable: true,
      description: "Why it was approved or denied.",
      resolve: (a) => strOf(a.reason),
    }),
    isAutomatic: t.boolean({
      nullable: true,
      description: "Answered by the streamer's own rule, not by the user.",
      resolve: (a) => (typeof a.isAutomatic === "boolean" ? a.isAutomatic : null),
    }),
  }),
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
    approval: t.field({
      type: ToolApproval,
      nullable: true,
      description:
        "For a tool that asks the user first (states approval-requested, approval-responded, output-denied, ...).",
      resolve: (p) => (isApproval(p.approval) ? p.approval : null),
    }),
  }),
});

const FilePart = builder.objectRef<StoredPart>("FilePart").implement({
  fields: (t) => ({
    mediaType: t.string({ resolve: (p) => str(p, "mediaType") ?? "application/octet-stream" }),
    url: t.string({ resolve: (p) => str(p, "url") ?? "" }),
    filename: t.string({ nullable: true, resolve: (p) => str(p, "filename") }),
  }),
});

const ReasoningFilePart = builder.objectRef<StoredPart>("ReasoningFilePart").implement({
  description: "A file the model produced while reasoning.",
  fields: (t) => ({
    mediaType: t.string({ resolve: (p) => str(p, "mediaType") ?? "application/octet-stream" }),
    url: t.string({ resolve: (p) => str(p, "url") ?? "" }),
  }),
});

const CustomPart = builder.objectRef<StoredPart>("CustomPart").implement({
  description:
    "Provider-specific content (AI SDK `custom` parts): its kind, `<provider>.<type>`, and the provider's metadata.",
  fields: (t) => ({
    kind: t.string({ resolve: (p) => str(p, "kind") ?? "" }),
    providerMetadata: t.field({ type: "JSON", nullable: true, resolve: (p) => p.providerMetadata ?? null }),
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
  if (type === "reasoning-file") return "ReasoningFilePart";
  if (type === "custom") return "CustomPart";
  if (type === "source-url") return "SourceUrlPart";
  if (type === "source-document") return "SourceDocumentPart";
  if (type.startsWith("data-")) return "DataPart";
  if (type === "step-start") return "StepStartPart";
  return null;
}

export const MessagePartUnion = builder.unionType("MessagePart", {
  description: "AI SDK UIMessage parts, typed.",
  types: [
    TextPart,
    ReasoningPart,
    ToolPart,
    FilePart,
    ReasoningFilePart,
    SourceUrlPart,
    SourceDocumentPart,
    DataPart,
    StepStartPart,
    CustomPart,
  ],
  resolveType: (part) => partTypeName(part),
});

/** The parts a client can be shown: unknown future part types are left out, not failed on. */
export function knownParts(parts: unknown): StoredPart[] {
  if (!Array.isArray(parts)) return [];
  return parts.filter(
    (p): p is StoredPart => !!p && typeof p === "object" && typeof p.type === "string" && partTypeName(p) !== null,
  );
}
