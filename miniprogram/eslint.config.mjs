import js from '@eslint/js'
import globals from 'globals'
import wxml from 'eslint-plugin-wxml'
import wxmlParser from '@wxml/parser'

const miniprogramGlobals = {
  wx: 'readonly',
  App: 'readonly',
  Page: 'readonly',
  Component: 'readonly',
  Behavior: 'readonly',
  getApp: 'readonly',
  getCurrentPages: 'readonly',
  requirePlugin: 'readonly',
  requireMiniProgram: 'readonly',
}

export default [
  { ignores: ['node_modules/**', 'src/miniprogram_npm/**', 'miniprogram_npm/**', 'coverage/**'] },
  js.configs.recommended,
  {
    files: ['src/**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'commonjs',
      globals: { ...miniprogramGlobals, console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      'no-console': ['error', { allow: ['warn', 'error'] }],
      'no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.js', 'scripts/**/*.js', '*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'commonjs',
      globals: { ...globals.node, ...globals.jest, ...globals.browser, ...miniprogramGlobals, createWxMock: 'readonly' },
    },
  },
  {
    files: ['**/*.wxml'],
    plugins: { wxml },
    languageOptions: { parser: wxmlParser },
    rules: {
      'wxml/report-wxml-syntax-error': 'error',
      'wxml/report-interpolation-error': 'error',
      'wxml/no-duplicate-attributes': 'error',
      'wxml/wx-key': 'warn',
    },
  },
]
