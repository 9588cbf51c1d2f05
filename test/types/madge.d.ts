// madge ships no type declarations; the architecture test uses only this much of its API.
declare module 'madge' {
  interface MadgeResult {
    circular(): string[][];
  }
  function madge(paths: string | string[], config?: Record<string, unknown>): Promise<MadgeResult>;
  export default madge;
}
