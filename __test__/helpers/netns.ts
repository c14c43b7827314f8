/**
 * Hosts made of Linux network namespaces, for tests of skein across machines:
 * each host has one interface (eth0) on a private /24 and a private IPv6 /64
 * of its own, joined by a
 * bridge that lives in a namespace of its own too, so nothing of the test
 * touches the machine's own network. Needs root and iproute2's `ip`.
 *
 * Names start with `sktest-<pid>-`: namespaces a crashed run left behind (its
 * pid gone) are removed by the next run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import type { ExecutionContext } from 'ava'

const PREFIX = 'sktest'
const SWITCH = 'sw'

export interface Host {
  /** The network namespace this host is. */
  readonly netns: string
  /** Its eth0 IPv4 address. */
  readonly ip: string
  /** Its eth0 IPv6 address (a unique local address). */
  readonly ip6: string
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function namespaces(): string[] {
  // `ip netns list` prints "name (id: 3)" per line.
  return ip('netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((name) => name.startsWith(`${PREFIX}-`))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Kills what still runs in `netns`, then deletes it (its interfaces go with it). */
function removeNamespace(netns: string): void {
  try {
    for (const pid of ip('netns', 'pids', netns).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
    ip('netns', 'delete', netns)
  } catch {
    // Deleted meanwhile (or never made).
  }
}

/** Removes the namespaces of earlier runs whose process is gone. */
function removeStale(): void {
  for (const netns of namespaces()) {
    const pid = Number(netns.split('-')[1])
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) removeNamespace(netns)
  }
}

let support: string | null | undefined

/** Why namespaces cannot be made here (not root, no `ip`, no permission), or null when they can. */
export function namespacesUnavailable(): string | null {
  if (support !== undefined) return support
  if (process.platform !== 'linux') return (support = `network namespaces are Linux only (this is ${process.platform})`)
  if (process.getuid?.() !== 0) return (support = 'making network namespaces needs root')
  const probe = `${PREFIX}-${process.pid}-probe`
  try {
    ip('-V')
  } catch {
    return (support = "iproute2's `ip` command is not installed")
  }
  try {
    ip('netns', 'add', probe)
    ip('-n', probe, 'link', 'add', 'br0', 'type', 'bridge')
    support = null
  } catch (err) {
    support = `cannot make a network namespace with a bridge: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`
  } finally {
    removeNamespace(probe)
  }
  return support
}

/** The namespaces of this process, removed when it exits even if a test's teardown never ran. */
const ours = new Set<string>()
process.once('exit', () => {
  for (const netns of ours) removeNamespace(netns)
})

/**
 * `count` hosts on one bridge, removed when the test ends (pass or fail). Call
 * namespacesUnavailable() first and skip when it gives a reason.
 */
export class Hosts {
  private readonly children = new Set<ChildProcess>()

  private constructor(
    readonly hosts: Host[],
    private readonly all: string[],
  ) {}

  static create(t: ExecutionContext, count: number): Hosts {
    removeStale()
    const pid = process.pid
    // A /24 per process; the bridge is in a namespace of its own, so it cannot clash with the machine's networks.
    const subnet = `10.${(pid >> 8) & 255}.${pid & 255}`
    const subnet6 = `fd${((pid >> 16) & 255).toString(16).padStart(2, '0')}:${(pid & 0xffff).toString(16)}:`
    const run = `${PREFIX}-${pid}-${Date.now().toString(36)}`
    const switchNs = `${run}-${SWITCH}`
    const names = Array.from({ length: count }, (_, i) => `${run}-h${i}`)
    const hosts = new Hosts(
      names.map((netns, i) => ({ netns, ip: `${subnet}.${i + 1}`, ip6: `${subnet6}:${i + 1}` })),
      [switchNs, ...names],
    )
    t.teardown(() => hosts.close())
    try {
      for (const netns of hosts.all) {
        ours.add(netns)
        ip('netns', 'add', netns)
        ip('-n', netns, 'link', 'set', 'lo', 'up')
      }
      ip('-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge')
      ip('-n', switchNs, 'link', 'set', 'br0', 'up')
      hosts.hosts.forEach((host, i) => {
        ip('-n', switchNs, 'link', 'add', `port${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns)
        ip('-n', switchNs, 'link', 'set', `port${i}`, 'master', 'br0', 'up')
        ip('-n', host.netns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0')
        // nodad: usable at once, without the second or two of duplicate address detection.
        ip('-n', host.netns, 'addr', 'add', `${host.ip6}/64`, 'dev', 'eth0', 'nodad')
        ip('-n', host.netns, 'link', 'set', 'eth0', 'up')
      })
    } catch (err) {
      hosts.close()
      throw err
    }
    return hosts
  }

  /** An address on the hosts' subnet that no host has. */
  get unusedIp(): string {
    return this.hosts[0].ip.replace(/\.\d+$/, '.250')
  }

  /** Runs `command` inside `host` (ip netns exec); it is killed when the hosts are removed. */
  spawn(host: Host, command: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', host.netns, ...command], { stdio: ['ignore', 'pipe', 'pipe'], ...options })
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
    return child
  }

  /** Runs `ip -n <host> <args>`: changes to one host's network during a test. */
  ip(host: Host, ...args: string[]): void {
    ip('-n', host.netns, ...args)
  }

  close(): void {
    for (const child of this.children) child.kill('SIGKILL')
    this.children.clear()
    for (const netns of this.all) {
      removeNamespace(netns)
      ours.delete(netns)
    }
  }
}
