import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "./builder.ts";
import "./scalars.ts";
import "./enums.ts";
import "./user.ts";
import "./usage.ts";
import "./message-part.ts";
import "./message.ts";
import "./chat.ts";
import "./vote.ts";
import "./tool-output.ts";
import "./stream-events.ts";
import "./send-message.ts";
import "./resume-stream.ts";

export const schema = builder.toSchema({ sortSchema: false });

/** The schema as committed in schema.graphql. */
export function printSchemaFile(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
