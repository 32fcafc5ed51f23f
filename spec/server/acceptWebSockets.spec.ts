import { offersClientWindowBits } from '../../src/server/acceptWebSockets.js';

describe('offersClientWindowBits', () => {
  it('should find client_max_window_bits in a permessage-deflate offer, with or without a value', () => {
    expect(offersClientWindowBits('permessage-deflate; client_max_window_bits')).toBe(true);
    expect(offersClientWindowBits('permessage-deflate; Client_Max_Window_Bits=10')).toBe(true);
    expect(offersClientWindowBits('permessage-deflate, permessage-deflate; client_max_window_bits')).toBe(true);
  });

  it('should not find it in an offer without it, in another extension, or without a header', () => {
    expect(offersClientWindowBits('permessage-deflate')).toBe(false);
    expect(offersClientWindowBits('permessage-deflate; server_max_window_bits=10')).toBe(false);
    expect(offersClientWindowBits('x-webkit-deflate-frame; client_max_window_bits')).toBe(false);
    expect(offersClientWindowBits(undefined)).toBe(false);
  });
});
