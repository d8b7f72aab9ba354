#!/usr/bin/env node
// Offline "Build npm": what WeChat DevTools does for our two packages, as a plain copy.
// @vant/weapp ships its mini-program build in lib/; qrcode-generator is one CommonJS file.
const fs = require('fs')
const path = require('path')

const root = path.resolve(__dirname, '..')
const dist = path.join(root, 'src', 'miniprogram_npm')

const copies = [
  { from: 'node_modules/@vant/weapp/lib', to: '@vant/weapp' },
  { from: 'node_modules/qrcode-generator/dist/qrcode.js', to: 'qrcode-generator/index.js' },
]

for (const { from, to } of copies) {
  const src = path.join(root, from)
  const dest = path.join(dist, to)
  if (!fs.existsSync(src)) {
    console.error(`build:npm: ${from} is missing; run \`npm install\` (or \`npm ci\`) first`)
    process.exit(1)
  }
  fs.rmSync(dest, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(dest), { recursive: true })
  fs.cpSync(src, dest, { recursive: true })
}
console.log(`build:npm: copied ${copies.length} packages into ${path.relative(root, dist)}/`)
