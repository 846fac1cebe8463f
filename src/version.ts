/** This package's version, as instrumentations report it. */
export const VERSION = '0.1.0';
