import { z } from "zod";
import { limits } from "../config/limits.ts";

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
