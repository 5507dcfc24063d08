import { defineBackground } from 'wxt/utils/define-background';
import { startBackground } from '../utils/background-service.ts';

export default defineBackground(() => startBackground());
