import type { Readable } from 'node:stream';

// A multipart form as routes and domain code see it: fields and files in the order the browser
// sent them (the order of the form's inputs), each file still streaming.
export type UploadPart =
  | { kind: 'field'; name: string; value: string }
  | { kind: 'file'; name: string; fileName: string; contentType: string; stream: Readable };
