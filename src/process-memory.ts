// How every way of starting the server runs node (npm start and start:prod in package.json, the
// Dockerfile, the bench's startApp; process-memory.test.ts holds them in step). Neither can be set
// from inside a running process: V8 sizes its young generation, and glibc its malloc arenas, when
// the process starts. Cluster workers inherit both from the primary.
//
// Measured on the bench's load over 1,000,000 cases, one web process, peak RSS (issue 16: at most
// 200 MB): 217 MB as node starts by default; 199 MB with two malloc arenas (glibc otherwise gives
// each of libuv's and V8's threads one of its own, 8 per core); 175 MB with an 8 MB semi-space too
// (V8's default of 16 MB keeps 32 MB of young generation resident).
export const memoryNodeFlags = ['--max-semi-space-size=8'] as const;
export const memoryEnv = { MALLOC_ARENA_MAX: '2' } as const;
