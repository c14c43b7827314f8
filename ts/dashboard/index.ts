export { pageHtml, readBundle, bundleDirectory, BUNDLE_FILE } from './page'
export type { DashboardUpdate, PrefixProgressRow, WorkerRow, SchedulerRow, StoryReply, ReportData } from './types'
