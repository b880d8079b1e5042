import { z } from "zod";
import { limits } from "../config/limits.ts";
import { ChatSDKError } from "../errors.ts";

export const uuid = z.guid({ message: "must be a UUID" });

export const pageArgs = z.object({
  first: z.number().int().min(0).max(limits.maxPageSize).nullish(),
  after: z.string().max(200).nullish(),
});

export const title = z.string().trim().min(1).max(limits.maxTitleLength);

export const text = z
  .string()
  .min(1, "must not be empty")
  .max(limits.maxTextLength, `must be at most ${limits.maxTextLength} characters`);

export const url = z.string().max(limits.maxUrlLength).url();

type Issue = { message: string; path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> };

/** `bad_request:api` naming each problem with its path, e.g. `input.message.parts.0.text: must not be empty`. */
export function invalidInput(issues: readonly Issue[], prefix: PropertyKey[] = []): ChatSDKError {
  return new ChatSDKError("bad_request:api", issues.map((issue) => describeIssue(issue, prefix)).join("; "));
}

function describeIssue(issue: Issue, prefix: PropertyKey[]): string {
  const path = [...prefix, ...(issue.path ?? [])].map((p) => String(typeof p === "object" ? p.key : p)).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}
