/** The last commit whose claim read one ready list (main before issue 18): the benchmarks' baseline. */
export const BASELINE_COMMIT = "6ad1ae2d5c5546215c4a30ac1022598106cb0584";
