// Test Worker: GET /health -> 200 "ok"; GET /version -> {"ok": true, "version": env.VERSION}.
// With the var MODE = "broken", /health answers 500 and /version {"ok": false, ...}.
export interface Env {
  MODE?: string;
  VERSION?: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    const broken = env.MODE === "broken";
    if (request.method !== "GET") {
      return new Response("method not allowed", { status: 405 });
    }
    if (pathname === "/health") {
      return broken ? new Response("broken", { status: 500 }) : new Response("ok");
    }
    if (pathname === "/version") {
      return Response.json({ ok: !broken, version: env.VERSION ?? null });
    }
    return new Response("not found", { status: 404 });
  },
};
