import { Agent, get, type IncomingHttpHeaders } from "node:http";

/** The response headers of a GET sent on a keep-alive connection (as a pooling proxy sends it). */
export async function keepAliveResponseHeaders(url: string): Promise<IncomingHttpHeaders> {
  const agent = new Agent({ keepAlive: true });
  try {
    return await new Promise<IncomingHttpHeaders>((resolve, reject) => {
      const request = get(url, { agent }, (response) => {
        response.resume();
        resolve(response.headers);
      });
      request.on("error", reject);
    });
  } finally {
    agent.destroy();
  }
}
