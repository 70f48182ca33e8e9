// Loaded by every page's <head> as a classic script, before the first paint: applies the theme
// chosen with the toggle (dom.js themeToggle) so the page never flashes the other one. With no
// choice kept, the stylesheet follows the system (prefers-color-scheme).
try {
  const theme = localStorage.getItem('collab:theme');
  if (theme === 'dark' || theme === 'light') document.documentElement.dataset.theme = theme;
} catch {
  // storage off: the system's theme
}
