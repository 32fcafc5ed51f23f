import { MemoryServerStore } from '../../../src/server/stores/MemoryServerStore.js';
import { describeServerStoreContract } from '../../helpers/serverStoreContract.js';

describeServerStoreContract('MemoryServerStore', async () => new MemoryServerStore());
describeServerStoreContract('MemoryServerStore', async () => new MemoryServerStore({ uniqueChangeIds: true }), { uniqueChangeIds: true });
