import { defineConfig } from "vite";

// Fixed output names (no hashes, no timestamps) so a fresh build is byte-for-byte
// the committed dist/, which CI checks.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    rollupOptions: {
      output: {
        entryFileNames: "assets/app.js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: "assets/[name][extname]",
      },
    },
  },
});
