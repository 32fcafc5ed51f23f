import { provideBrowserGlobalErrorListeners, type ApplicationConfig } from '@angular/core';
import { PATCHES_URL } from './patches.service';

/** The app's providers. The server is the page's own origin (the demo server serves both). */
export const appConfig: ApplicationConfig = {
  providers: [provideBrowserGlobalErrorListeners(), { provide: PATCHES_URL, useValue: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}` }],
};
