import { NetworkError } from '../../../src/errors.js';
import { connectionLabels, saveLabel, trackedEntry } from '../../../examples/board/labels.js';

describe('saveLabel', () => {
  it('should name every row of the seed save-indicator table', () => {
    expect(saveLabel({ committedRev: 0, hasPending: false, status: 'unsynced' })).toBe('Never synced');
    expect(saveLabel({ committedRev: 3, hasPending: true, status: 'syncing' })).toBe('Saving…');
    expect(saveLabel({ committedRev: 3, hasPending: false, status: 'syncing' })).toBe('Syncing…');
    expect(saveLabel({ committedRev: 3, hasPending: true, status: 'synced' })).toBe('Unsaved changes');
    expect(saveLabel({ committedRev: 3, hasPending: false, status: 'synced' })).toBe('All saved');
    expect(saveLabel({ committedRev: 3, hasPending: true, status: 'error' })).toBe('Sync error');
  });
});

describe('trackedEntry', () => {
  it('should give a doc the entry the seed gives it when tracked', () => {
    expect(trackedEntry({ committedRev: 0, hasPending: true })).toEqual({ committedRev: 0, hasPending: true, status: 'unsynced' });
    expect(trackedEntry({ committedRev: 5, hasPending: false })).toEqual({ committedRev: 5, hasPending: false, status: 'synced' });
  });
});

describe('connectionLabels', () => {
  it('should tell working offline, offline, connecting, connected and the sync pass apart', () => {
    expect(connectionLabels({ online: true, connected: true, syncing: null }, false)).toEqual({ online: 'Online', connected: 'Connected', syncing: 'Idle' });
    expect(connectionLabels({ online: true, connected: false, syncing: null }, true)).toEqual({ online: 'Working offline', connected: 'Disconnected', syncing: 'Idle' });
    expect(connectionLabels({ online: false, connected: false, syncing: null }, false).online).toBe('Offline');
    expect(connectionLabels({ online: true, connected: false, syncing: null }, false).connected).toBe('Connecting…');
    expect(connectionLabels({ online: true, connected: true, syncing: 'initial' }, false).syncing).toBe('First sync…');
    expect(connectionLabels({ online: true, connected: true, syncing: 'updating' }, false).syncing).toBe('Syncing…');
    expect(connectionLabels({ online: true, connected: true, syncing: new Error('boom') }, false).syncing).toBe('Sync error');
    expect(connectionLabels({ online: true, connected: false, syncing: new NetworkError('refused') }, false).syncing).toBe('Server unreachable');
  });
});
