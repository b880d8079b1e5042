// Streamer chunks to GraphQL events. The mapper numbers nothing: the turn owns
// one seq counter across StreamStarted, these events and the terminal event.
import type { UIMessageChunk } from "ai";
import { isRecord, modelOf, usageOf } from "../usage.ts";
import type { ChunkEventDraft, Usage } from "./events.ts";
import { isPlainObject, mergeObjects } from "./merge-metadata.ts";

/** What the streamer said about the turn itself, beyond the live events. */
export type StreamReport = {
  /** How the stream said it ended; null while running or when it just stopped. */
  ended: "finish" | "abort" | null;
  finishReason: string | null;
  abortReason: string | null;
  /** Text of the last `error` chunk; such a chunk does not end the stream. */
  errorText: string | null;
  /** The streamer's `start` messageId; the gateway's own id is the one stored. */
  messageId: string | null;
  /** Message metadata from start, message-metadata and finish chunks, merged as the ai package merges it. */
  metadata: unknown;
  /**
   * The last usage figures seen: a `data-usage` part (Chat SDK), or the merged
   * metadata's `usage` when a metadata chunk reports usage (figures of earlier chunks kept).
   */
  usageReport: { report: Record<string, unknown>; model: string | null } | null;
};

export type ChunkMapper = {
  /** Events for one chunk: none for bookkeeping chunks, two for tool-input-error. */
  map(chunk: UIMessageChunk): ChunkEventDraft[];
  readonly report: StreamReport;
  /** The turn's usage, or null when the streamer reported none. */
  usage(fallbackModel: string | null): Usage | null;
};

const none: ChunkEventDraft[] = [];

export function createChunkMapper(): ChunkMapper {
  const report: StreamReport = {
    ended: null,
    finishReason: null,
    abortReason: null,
    errorText: null,
    messageId: null,
    metadata: undefined,
    usageReport: null,
  };
  // The tool call of each approval asked for in this turn, by approval id.
  const approvals = new Map<string, string>();

  function noteMetadata(metadata: unknown) {
    if (metadata === undefined) return;
    report.metadata =
      isPlainObject(report.metadata) && isPlainObject(metadata) ? mergeObjects(report.metadata, metadata) : metadata;
    if (isRecord(metadata) && isRecord(metadata.usage)) {
      const merged = report.metadata as Record<string, unknown>;
      report.usageReport = { report: isRecord(merged.usage) ? merged.usage : metadata.usage, model: modelOf(merged) };
    }
  }

  function map(chunk: UIMessageChunk): ChunkEventDraft[] {
    switch (chunk.type) {
      case "start-step":
        return [{ __typename: "StepStarted" }];
      case "finish-step":
        return [{ __typename: "StepFinished" }];
      case "reset-step":
        return [{ __typename: "StepReset" }];
      case "text-delta":
        return [{ __typename: "TextDelta", partId: chunk.id, delta: chunk.delta }];
      case "reasoning-delta":
        return [{ __typename: "ReasoningDelta", partId: chunk.id, delta: chunk.delta }];
      case "tool-input-start":
        return [{ __typename: "ToolInputStarted", toolCallId: chunk.toolCallId, toolName: chunk.toolName }];
      case "tool-input-delta":
        return [{ __typename: "ToolInputDelta", toolCallId: chunk.toolCallId, delta: chunk.inputTextDelta }];
      case "tool-input-available":
        return [toolInput(chunk.toolCallId, chunk.toolName, chunk.input)];
      case "tool-input-error":
        // The stored part ends in output-error with the input; a client may not
        // have seen tool-input-start, so it gets the name and input first.
        return [
          toolInput(chunk.toolCallId, chunk.toolName, chunk.input),
          { __typename: "ToolOutputError", toolCallId: chunk.toolCallId, errorText: chunk.errorText },
        ];
      case "tool-output-available":
        return [
          {
            __typename: "ToolOutputAvailable",
            toolCallId: chunk.toolCallId,
            output: chunk.output ?? null,
            preliminary: chunk.preliminary === true,
          },
        ];
      case "tool-output-error":
        return [{ __typename: "ToolOutputError", toolCallId: chunk.toolCallId, errorText: chunk.errorText }];
      case "tool-approval-request":
        approvals.set(chunk.approvalId, chunk.toolCallId);
        return [
          {
            __typename: "ToolApprovalRequested",
            toolCallId: chunk.toolCallId,
            approvalId: chunk.approvalId,
            requestReason: chunk.reason ?? null,
            isAutomatic: chunk.isAutomatic === true,
          },
        ];
      case "tool-approval-response": {
        // The chunk names the approval only; a response to one this turn never asked for has no live event.
        const toolCallId = approvals.get(chunk.approvalId);
        if (toolCallId === undefined) return none;
        return [
          {
            __typename: "ToolApprovalResponded",
            toolCallId,
            approvalId: chunk.approvalId,
            approved: chunk.approved,
            responseReason: chunk.reason ?? null,
          },
        ];
      }
      case "tool-output-denied":
        return [{ __typename: "ToolOutputDenied", toolCallId: chunk.toolCallId }];
      case "source-url":
        return [{ __typename: "SourceUrl", sourceId: chunk.sourceId, url: chunk.url, title: chunk.title ?? null }];
      case "start":
        report.messageId = chunk.messageId ?? report.messageId;
        noteMetadata(chunk.messageMetadata);
        return none;
      case "message-metadata":
        noteMetadata(chunk.messageMetadata);
        return none;
      case "finish":
        report.ended = "finish";
        report.finishReason = chunk.finishReason ?? null;
        noteMetadata(chunk.messageMetadata);
        return none;
      case "abort":
        report.ended = "abort";
        report.abortReason = chunk.reason ?? null;
        return none;
      case "error":
        report.errorText = chunk.errorText;
        return none;
      default:
        // data-* chunks (below) and chunks of future protocol versions.
        break;
    }
    if (chunk.type.startsWith("data-") && "data" in chunk) {
      const name = chunk.type.slice("data-".length);
      if (name === "usage" && isRecord(chunk.data)) {
        report.usageReport = { report: chunk.data, model: modelOf(chunk.data) };
      }
      return [
        {
          __typename: "DataDelta",
          name,
          id: chunk.id ?? null,
          data: chunk.data ?? null,
          transient: chunk.transient === true,
        },
      ];
    }
    // text/reasoning start and end, files, source documents, custom and
    // steering parts: no event; they arrive with the stored message.
    return none;
  }

  return {
    map,
    report,
    usage(fallbackModel) {
      if (report.usageReport === null) return null;
      return usageOf(report.usageReport.report, report.usageReport.model ?? fallbackModel);
    },
  };
}

function toolInput(toolCallId: string, toolName: string, input: unknown): ChunkEventDraft {
  return { __typename: "ToolInputAvailable", toolCallId, toolName, input: input ?? null };
}
