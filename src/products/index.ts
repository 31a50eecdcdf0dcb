import { api7Ee213 } from './api7-ee-2.13';
import { apisix3 } from './apisix-3';
import type { ProductId, ProductProfile } from './types';

export * from './types';

const PRODUCTS: Record<ProductId, ProductProfile> = {
  'api7-ee-2.13': api7Ee213,
  'apisix-3': apisix3,
};

export function productProfile(id: ProductId): ProductProfile {
  return PRODUCTS[id];
}
