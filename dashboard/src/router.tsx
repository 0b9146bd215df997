/**
 * A tiny History-API router: four routes do not justify a dependency. The local runtime and
 * CloudFront both answer unknown paths with index.html, so deep links and reloads work.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export const LIST_PATH = '/settings/webhooks';

export type Route =
  | { readonly page: 'list' }
  | { readonly page: 'create' }
  | { readonly page: 'detail'; readonly id: string }
  | { readonly page: 'edit'; readonly id: string };

/** The route of a path; unknown paths show the list. */
export function parseRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '');
  if (path === `${LIST_PATH}/new`) return { page: 'create' };
  const m = new RegExp(`^${LIST_PATH}/([^/]+)(/edit)?$`).exec(path);
  if (m?.[1]) {
    const id = decodeURIComponent(m[1]);
    return m[2] ? { page: 'edit', id } : { page: 'detail', id };
  }
  return { page: 'list' };
}

export const paths = {
  list: (): string => LIST_PATH,
  create: (): string => `${LIST_PATH}/new`,
  detail: (id: string): string => `${LIST_PATH}/${encodeURIComponent(id)}`,
  edit: (id: string): string => `${LIST_PATH}/${encodeURIComponent(id)}/edit`,
};

const NAVIGATE_EVENT = 'dashboard:navigate';
let navigatedInApp = false;

/** Whether the user has moved between pages (then each page moves focus to its heading). */
export function hasNavigated(): boolean {
  return navigatedInApp;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  navigatedInApp = true;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
  window.scrollTo(0, 0);
}

export function usePathname(): string {
  const [pathname, setPathname] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPathname(location.pathname);
    const onPop = () => {
      navigatedInApp = true;
      update();
    };
    window.addEventListener('popstate', onPop);
    window.addEventListener(NAVIGATE_EVENT, update);
    return () => {
      window.removeEventListener('popstate', onPop);
      window.removeEventListener(NAVIGATE_EVENT, update);
    };
  }, []);
  return pathname;
}

interface LinkProps {
  readonly href: string;
  readonly children: ComponentChildren;
  readonly class?: string;
  readonly 'aria-label'?: string;
}

/** An ordinary link (middle-click, copy link work) that navigates in place on a plain click. */
export function Link({ href, children, ...rest }: LinkProps) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
