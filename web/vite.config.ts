import { defineConfig } from "vite";

// Every asset is named after its content (`app-<hash>.js`), so the gateway can
// cache it for good and a new build is new names; the hash depends only on the
// content, so a fresh build is still byte-for-byte the committed dist/, which
// CI checks. Files in public/ (the favicon) keep their names.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    rollupOptions: {
      output: {
        entryFileNames: "assets/app-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
});
