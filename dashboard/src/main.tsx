import { render } from 'preact'
import type { ReportData } from '../../ts/dashboard/types'
import { Live } from './live'
import { Report } from './report'

// A performance report carries its data in the page; the live dashboard gets it from the scheduler.
const inlined = document.getElementById('skein-report')
const app = document.getElementById('app')!
if (inlined !== null) render(<Report data={JSON.parse(inlined.textContent ?? '{}') as ReportData} />, app)
else render(<Live />, app)
