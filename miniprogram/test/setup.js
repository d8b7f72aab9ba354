// Runs before every test file: the simulator's globals, a Page→Component shim and a full
// jest-mocked `wx` (reset before each test). Pages are loaded as top-level components.
const simulate = require('miniprogram-simulate')

global.getApp = () => ({ globalData: {} })
global.getCurrentPages = () => []

// Page(definition) → Component({data, methods}); lifecycles are called by the tests.
global.Page = ({ data = {}, ...rest }) => {
  const methods = {}
  const extra = {}
  for (const [k, v] of Object.entries(rest)) (typeof v === 'function' ? methods : extra)[k] = v
  global.Component({ data, methods, ...extra })
}

global.__simulate = simulate

function createWxMock() {
  const storage = new Map()
  const ok = (payload) => jest.fn((opts = {}) => {
    if (opts.success) opts.success(typeof payload === 'function' ? payload(opts) : payload)
    if (opts.complete) opts.complete()
  })
  // Photos saved with saveFile (utils/photos) are "there" until unlinked; temp paths always are.
  // Each remembers when it was saved (seconds, as WeChat's Stats.lastModifiedTime).
  const files = new Set()
  const savedAt = new Map()
  const fsm = {
    __files: files,
    __savedAt: savedAt,
    readFileSync: () => '',
    mkdirSync: jest.fn(),
    saveFile: jest.fn((o) => {
      files.add(o.filePath)
      savedAt.set(o.filePath, Math.floor(Date.now() / 1000))
      o.success({ savedFilePath: o.filePath })
    }),
    unlinkSync: jest.fn((p) => {
      files.delete(p)
      savedAt.delete(p)
    }),
    readdirSync: jest.fn((dir) => {
      const names = [...files].filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1))
      if (!names.length) throw new Error(`readdirSync:fail no such file or directory ${dir}`)
      return names
    }),
    statSync: jest.fn((p) => {
      if (!files.has(p)) throw new Error(`statSync:fail no such file or directory ${p}`)
      return { lastModifiedTime: savedAt.get(p) || 0, isDirectory: () => false, isFile: () => true }
    }),
    accessSync: jest.fn((p) => {
      if (p.startsWith('wxfile://usr/') && !files.has(p)) throw new Error(`accessSync:fail no such file or directory ${p}`)
    }),
  }
  return {
    __storage: storage,
    getStorageSync: jest.fn((k) => (storage.has(k) ? JSON.parse(JSON.stringify(storage.get(k))) : '')),
    setStorageSync: jest.fn((k, v) => storage.set(k, JSON.parse(JSON.stringify(v)))),
    removeStorageSync: jest.fn((k) => storage.delete(k)),
    request: jest.fn((opts) => setTimeout(() => opts.fail({ errMsg: 'request:fail no mock server' }), 0)),
    uploadFile: jest.fn((opts) => setTimeout(() => opts.fail({ errMsg: 'uploadFile:fail no mock server' }), 0)),
    downloadFile: jest.fn((opts) => setTimeout(() => opts.fail({ errMsg: 'downloadFile:fail no mock server' }), 0)),
    env: { USER_DATA_PATH: 'wxfile://usr' },
    getFileSystemManager: jest.fn(() => fsm),
    saveImageToPhotosAlbum: ok({ errMsg: 'saveImageToPhotosAlbum:ok' }),
    login: ok({ code: 'wx-code-1' }),
    getLocation: ok({ latitude: 34.7466, longitude: 113.6253, accuracy: 20 }),
    openSetting: ok({ authSetting: { 'scope.userLocation': true } }),
    chooseLocation: ok({ latitude: 34.75, longitude: 113.63, address: '郑州市金水区经三路 1 号', name: '经三路' }),
    openLocation: jest.fn(),
    makePhoneCall: jest.fn(),
    scanCode: ok({ result: '', path: '' }),
    chooseMedia: ok({ tempFiles: [{ tempFilePath: 'wxfile://tmp/photo1.jpg' }] }),
    compressImage: ok((o) => ({ tempFilePath: `${o.src}.compressed.jpg` })),
    previewImage: jest.fn(),
    requestSubscribeMessage: ok({}),
    showToast: jest.fn(),
    showModal: ok({ confirm: true }),
    showLoading: jest.fn(),
    hideLoading: jest.fn(),
    navigateTo: jest.fn(),
    redirectTo: jest.fn(),
    navigateBack: jest.fn(),
    switchTab: jest.fn(),
    reLaunch: jest.fn(),
    stopPullDownRefresh: jest.fn(),
    setNavigationBarTitle: jest.fn(),
    vibrateShort: jest.fn(),
    onNetworkStatusChange: jest.fn(),
    getAccountInfoSync: jest.fn(() => ({ miniProgram: { envVersion: 'develop' } })),
  }
}

global.createWxMock = createWxMock
global.wx = Object.assign(global.wx || {}, createWxMock())

beforeEach(() => {
  Object.assign(global.wx, createWxMock())
})
